/* RTLD_NEXT from libraries loaded at start-up (next_pre.c, next_lib.c). */
#include <stdio.h>

void next_lib_call(void);

int main(void) {
    puts("hello");
    next_lib_call();
    return 0;
}
