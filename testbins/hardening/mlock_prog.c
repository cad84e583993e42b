/*
 * mlock_prog [nolock]: mlockall(MCL_CURRENT | MCL_FUTURE) (unless
 * "nolock"), then dlopen("libhv.so") (found through the program's RUNPATH
 * $ORIGIN). Locked, guardld must map it under VM_LOCKED, where the kernel
 * refuses guard regions (EINVAL), and fall back to PROT_NONE padding.
 * Prints mlockall=<ret>, dlopen=ok|fail (and dlerror=<msg>), hv_fn=<v>,
 * then "still running" (a failed dlopen must leave the program running).
 * Linked against the guardld binary (NEEDED ld-guardld.so.1) for dlopen.
 */
#include "rt/rt.h"
#include "guardld.h"

int main(int argc, char **argv, char **envp) {
    (void)envp;
    if (!(argc > 1 && rt_streq(argv[1], "nolock"))) {
        long r = rt_syscall1(151 /* mlockall */, 1 | 2 /* MCL_CURRENT | MCL_FUTURE */);
        print_kv_dec("mlockall", r);
    }
    rt_flush();
    void *h = dlopen("libhv.so", RTLD_NOW);
    print_kv_str("dlopen", h ? "ok" : "fail");
    if (!h) {
        print_kv_str("dlerror", dlerror());
        print_line("still running");
        return 1;
    }
    int (*f)(void) = (int (*)(void))dlsym(h, "hv_fn");
    print_kv_dec("hv_fn", f ? f() : -1);
    return 0;
}
