/* ifunc_lazy_main (tests/glibc_dlopen.rs): needs libifunc_lazy.so, whose
   IFUNC resolver fails at start-up; main is never reached. */
#include <stdio.h>

int calls_missing(void);

int main(void) {
    printf("reached main: %d\n", calls_missing());
    return 0;
}
