/* A glibc program for gmaps under the audit module (tests/gmaps.rs): calls
 * into libaudit1..N.so (linked), dlopens libauditplugin.so (argv[1]) and
 * calls it, then with GUARDLD_TEST_PAUSE=1 says `rt: paused, pid N` on
 * stderr (as testbins/rt does) and sleeps up to 30 s so that gmaps can
 * look at it. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The last library's function (-DTOP=audit_fnN). */
#ifndef TOP
#define TOP audit_fn10
#endif
int TOP(int);

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    printf("sum=%d\n", TOP(3));
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
    int (*pf)(int) = (int (*)(int))dlsym(h, "plugin_fn");
    printf("plugin=%d\n", pf ? pf(7) : -1);
    fflush(stdout);
    const char *p = getenv("GUARDLD_TEST_PAUSE");
    if (p && !strcmp(p, "1")) {
        fprintf(stderr, "rt: paused, pid %d\n", (int)getpid());
        for (int i = 0; i < 300; i++) usleep(100 * 1000);
    }
    return 0;
}
