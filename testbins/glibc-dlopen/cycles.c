/* dlopen/dlclose cycles of one small library: the growth of VmData over
 * two batches of N cycles each (the first warms the loader up).
 *   cycles LIB N   prints: batch1_kb batch2_kb */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long vmdata_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char l[256];
    long v = -1;
    while (f && fgets(l, sizeof l, f))
        if (!strncmp(l, "VmData:", 7)) v = atol(l + 7);
    if (f) fclose(f);
    return v;
}

int main(int argc, char **argv) {
    int n = argc > 2 ? atoi(argv[2]) : 1000;
    long growth[2];
    for (int k = 0; k < 2; k++) {
        long before = vmdata_kb();
        for (int i = 0; i < n; i++) {
            void *h = dlopen(argv[1], RTLD_NOW);
            if (!h) {
                printf("dlopen: %s\n", dlerror());
                return 1;
            }
            dlclose(h);
        }
        growth[k] = vmdata_kb() - before;
    }
    printf("%ld %ld\n", growth[0], growth[1]);
    return 0;
}
