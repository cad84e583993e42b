/* Opened by nested_close_lib.c; says when its finalizer runs (built
   twice: libnested_leaf.so and libnested_other.so, -DNAME). */
#include <stdio.h>
__attribute__((destructor)) static void gone(void) { printf("%s: dtor\n", NAME); fflush(stdout); }
int leaf_value(void) { return 7; }
