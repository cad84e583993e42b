/* A glibc program with three 64 KiB-aligned libraries (libglibcmaps1..3.so,
 * maps_lib.c): prints what its libraries compute, then a "--- maps ---"
 * line and its own /proc/self/maps, for the test to find each object's
 * span and the VMAs in it. */
#include <stdio.h>

int maps_fn3(int);

int main(void) {
    for (int x = 0; x < 4; x++) printf("maps_fn3(%d)=%d\n", x, maps_fn3(x));
    printf("--- maps ---\n");
    fflush(stdout);
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 1;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
}
