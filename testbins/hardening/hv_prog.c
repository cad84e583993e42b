/*
 * hv_prog: the program of tests/hardening.rs. NEEDs libhv.so (hv_fn@HV_1,
 * hv_data) through DT_RUNPATH.
 *
 *   hv_prog               prints hv_fn=42, hv_data=5 (at exit: rt buffers)
 *   hv_prog relro         writes to libhv's RELRO pointer after start-up:
 *                         prints "before write" (flushed), then must die
 *                         of SIGSEGV before printing "after write"
 *   hv_prog probe OFF     the page at (char *)hv_fn + OFF (decimal, may be
 *                         negative): its pagemap entry's guard bit (58),
 *                         and what a read of it does in a forked child:
 *                         "guard=0|1|?" and "read=ok|SIGSEGV|SIGBUS|sig<N>"
 *   hv_prog ids           real/effective uid and AT_SECURE
 */
#include "rt/rt.h"

extern int hv_fn(void);
extern int hv_data;
extern int *const *hv_relro_addr(void);

static long parse_dec(const char *s) {
    long sign = 1, v = 0;
    if (*s == '-') {
        sign = -1;
        s++;
    }
    while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
    return sign * v;
}

static void probe(long off) {
    unsigned long addr = ((unsigned long)(uintptr_t)&hv_fn + off) & ~4095UL;
    print_kv_hex("probe_addr", addr);
    long g = rt_pagemap_guarded(addr, 1); /* the page holding addr */
    print_kv_str("guard", g < 0 ? "?" : g ? "1" : "0");
    rt_flush();
    int pid = sys_fork();
    if (pid == 0) {
        volatile unsigned char *p = (volatile unsigned char *)addr;
        (void)*p;
        sys_exit_group(0);
    }
    int st = 0;
    sys_wait4(pid, &st, 0, NULL);
    int sig = st & 0x7f;
    if (sig == 0) print_line("read=ok");
    else if (sig == 11) print_line("read=SIGSEGV");
    else if (sig == 7) print_line("read=SIGBUS");
    else {
        print_str("read=sig");
        print_dec(sig);
        print_char('\n');
    }
}

int main(int argc, char **argv, char **envp) {
    if (argc > 1 && rt_streq(argv[1], "env")) {
        /* The environment the loader left, entry by entry. */
        for (char **e = envp; *e; e++) {
            print_str("env ");
            print_line(*e);
        }
        return 0;
    }
    if (argc > 1 && rt_streq(argv[1], "relro")) {
        int **p = (int **)hv_relro_addr();
        print_line("before write");
        rt_flush();
        *p = 0;
        print_line("after write (must not happen)");
        return 1;
    }
    if (argc > 2 && rt_streq(argv[1], "probe")) {
        probe(parse_dec(argv[2]));
        return 0;
    }
    if (argc > 1 && rt_streq(argv[1], "ids")) {
        print_kv_dec("uid", rt_syscall0(102));
        print_kv_dec("euid", rt_syscall0(107));
        print_kv_dec("at_secure", (long)rt_getauxval(AT_SECURE));
    }
    print_kv_dec("hv_fn", hv_fn());
    print_kv_dec("hv_data", hv_data);
    return 0;
}
