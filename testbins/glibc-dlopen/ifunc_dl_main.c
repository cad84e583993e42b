/* ifunc_dl_main (tests/glibc_dlopen.rs): "dlsym" calls the function whose
   IFUNC resolver called dlsym; "dlopen" the one whose resolver called
   dlopen. */
#include <stdio.h>
#include <string.h>

int by_dlsym(void);
int by_dlopen(void);

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "dlsym") == 0) {
        printf("dlsym in a resolver: %d\n", by_dlsym());
        return 0;
    }
    printf("dlopen in a resolver: %d\n", by_dlopen());
    return 0;
}
