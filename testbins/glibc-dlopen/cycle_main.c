/* Two dlopen'd libraries bound to each other (libcycle_c.so to
 * libcycle_b.so by relocation, libcycle_b.so to libcycle_c.so by lazy
 * binding): glibc's dlclose keeps both while either has a handle and
 * unloads both with the last. argv[1] = directory of the libraries.
 * Exits 0. */
#define _GNU_SOURCE
#include "dlstate.h"
#include <dlfcn.h>

static void state(const char *when) {
    say("%s: b %s, c %s\n", when, loaded("libcycle_b.so"), loaded("libcycle_c.so"));
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    char pb[600], pc[600];
    snprintf(pb, sizeof pb, "%s/libcycle_b.so", argv[1]);
    snprintf(pc, sizeof pc, "%s/libcycle_c.so", argv[1]);
    void *hb = dlopen(pb, RTLD_LAZY | RTLD_GLOBAL);
    void *hc = hb ? dlopen(pc, RTLD_NOW | RTLD_GLOBAL) : NULL;
    if (!hc) {
        say("dlopen: %s\n", dlerror());
        return 1;
    }
    int (*f)(int) = (int (*)(int))dlsym(hb, "b_calls_c");
    say("b_calls_c(1) = %d\n", f ? f(1) : -1);
    say("dlclose(b) = %d\n", dlclose(hb));
    state("after dlclose(b)");
    say("dlclose(c) = %d\n", dlclose(hc));
    state("after dlclose(c)");
    say("exit\n");
    return 0;
}
