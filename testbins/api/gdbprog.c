/*
 * gdbprog: the program of tests/api.rs's gdb tests. Calls gdb_libfunc in
 * libapigdb.so (NEEDed), then dlopens libapigdbdl.so and calls its
 * gdb_dlfunc; prints both results. Debug info (-g) in all three.
 */
#include "rt/rt.h"
#include "guardld.h"

extern int gdb_libfunc(int x);

int main(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    print_kv_dec("libfunc", gdb_libfunc(20));
    rt_flush();
    void *h = dlopen("libapigdbdl.so", RTLD_NOW);
    if (!h) rt_fail(dlerror());
    int (*f)(int) = (int (*)(int))dlsym(h, "gdb_dlfunc");
    if (!f) rt_fail(dlerror());
    print_kv_dec("dlfunc", f(30));
    return 0;
}
