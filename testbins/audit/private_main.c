/* A libc-less program whose library needs glibc's loader. */
#include "rt/rt.h"
const char *private_argv0(void);
int main(int argc, char **argv, char **envp) {
    (void)argc; (void)argv; (void)envp;
    const char *a = private_argv0();
    sys_write(1, "argv0=", 6);
    sys_write(1, a, rt_strlen(a));
    sys_write(1, "\n", 1);
    return 0;
}
