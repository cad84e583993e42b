/* ifunc_prog: NEEDs libhvifunc.so; prints hv_ifunc=7. */
#include "rt/rt.h"
extern int hv_ifunc(void);
int main(int argc, char **argv, char **envp) {
    (void)argc;
    (void)argv;
    (void)envp;
    print_kv_dec("hv_ifunc", hv_ifunc());
    return 0;
}
