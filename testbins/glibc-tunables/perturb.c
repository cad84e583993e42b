/* Prints the byte glibc's malloc leaves in fresh memory: 0 by default,
 * perturb ^ 0xff when glibc.malloc.perturb (or its alias MALLOC_PERTURB_)
 * is set. Shows that the loader gave libc the environment's tunables. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    unsigned char *p = malloc(200);
    if (!p)
        return 1;
    printf("fresh byte %u\n", p[100]);
    return 0;
}
