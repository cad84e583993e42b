/*
 * zygote: a libc-less "zygote" process for guardld (driven by
 * zygote-bench, zygote/src/main.rs; see docs/perf.md "## zygote").
 *
 *   zygote N M LIBDIR
 *
 * 1. dlopens LIBDIR/libzyg0.so .. libzyg<N-1>.so (RTLD_NOW), finds each
 *    one's zl_call with dlsym, and asks guardld_guards for the libraries'
 *    padding ranges (their mode and the kernel's confirmation). The probe
 *    address is the first page of libzyg0.so's first padding range.
 * 2. Forks M children, one at a time. The parent stamps CLOCK_MONOTONIC
 *    right before fork(); each child stamps it as its first instruction
 *    after fork returns, then calls every library (zl_call(i+1) must be
 *    4*(i+1) + 2*i for libzyg<i>), counts its VMAs (/proc/self/maps
 *    lines) and sends its first report through a pipe (the parent stamps
 *    its arrival: fork -> first report). Then it counts the guarded pages
 *    of the probe range in its own /proc/self/pagemap (bit 58: guards
 *    inherited over fork), forks a grandchild that reads the probe address
 *    and sends a second report with how the grandchild died. The parent
 *    reads child j's reports before forking child j+1, so children are
 *    measured one at a time, and all M stay alive (blocked reading a
 *    second pipe) until the whole fleet is counted.
 * 3. With the fleet alive, reads /proc/slabinfo's vm_area_struct (and
 *    anon_vma_chain) line again
 *    (the difference from before the first fork is the kernel's count of
 *    VMA objects the children added, noisy: the whole system allocates from
 *    the same cache), then closes the pipe: every child exits; the parent
 *    reaps them and checks each exited 0.
 *
 * Output (stdout, key=value; one `child` line per child):
 *   libs, children, lib_ranges, lib_ranges_guard, lib_ranges_prot_none,
 *   lib_pages, lib_confirmed_pages, probe_pages, parent_vmas,
 *   parent_pte_kb (VmPTE of /proc/self/status: its page tables),
 *   child j=J vmas=V calls_ok=0|1 probe=segv|sig:N|exit:N|ok
 *         guarded=G fork_call_ns=F start_ns=S report_ns=R pte_kb=P
 *     (F: fork() as the parent sees it; S: to the child's first
 *     instruction, from the child's own clock reading; R: to the arrival of
 *     the child's first report; all from the parent's reading before fork;
 *     P: the child's VmPTE at its first report)
 *   slab=unreadable | slab_objsize=B slab_before=A slab_alive=A2
 *   avc_objsize=B avc_before=A avc_alive=A2 (anon_vma_chain: one per
 *     VMA that has an anon_vma, in each process)
 *   children_exit_ok=0|1
 * Exit 0 if every child's calls were right and every record arrived.
 */
#include "rt/rt.h"
#include "guardld.h"

#define SYS_pipe2 293
#define SYS_clock_gettime 228
#define SYS_setrlimit 160
#define CLOCK_MONOTONIC 1
#define RLIMIT_CORE 4
#define MAX_LIBS 4096

typedef long (*call_fn)(long);

static call_fn calls[MAX_LIBS];
static int nlibs;
static unsigned long probe_start, probe_len;

static long now_ns(void) {
    long ts[2];
    rt_syscall2(SYS_clock_gettime, CLOCK_MONOTONIC, (long)ts);
    return ts[0] * 1000000000L + ts[1];
}

static unsigned long parse_num(const char *s) {
    unsigned long v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (unsigned long)(*s++ - '0');
    return v;
}

static char file_buf[512 * 1024];

/* A /proc file into file_buf (NUL-terminated); its length or -1. */
static long read_proc(const char *path) {
    int fd = sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return -1;
    size_t n = 0;
    for (;;) {
        long r = sys_read(fd, file_buf + n, sizeof file_buf - 1 - n);
        if (r < 0) {
            sys_close(fd);
            return -1;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n == sizeof file_buf - 1) break;
    }
    file_buf[n] = 0;
    sys_close(fd);
    return (long)n;
}

/* Lines of /proc/self/maps: one per VMA (guards have none). */
static int count_vmas(void) {
    long n = read_proc("/proc/self/maps");
    if (n < 0) return -1;
    int lines = 0;
    for (long i = 0; i < n; i++) lines += file_buf[i] == '\n';
    return lines;
}

/* A /proc/self/status field in kB ("VmPTE:": the page tables), or -1. */
static long status_kb(const char *key) {
    if (read_proc("/proc/self/status") < 0) return -1;
    for (const char *p = file_buf; *p;) {
        const char *rest = rt_strprefix(p, key);
        if (rest) {
            while (*rest == ' ' || *rest == '\t') rest++;
            return (long)parse_num(rest);
        }
        while (*p && *p != '\n') p++;
        if (*p) p++;
    }
    return -1;
}

/* A slab cache's active objects and object size from /proc/slabinfo
 * (`name` with its trailing space, e.g. "vm_area_struct "). */
static int slab_cache(const char *name, unsigned long *active, unsigned long *objsize) {
    if (read_proc("/proc/slabinfo") < 0) return 0;
    for (const char *p = file_buf; *p;) {
        const char *rest = rt_strprefix(p, name);
        if (rest) {
            unsigned long f[3];
            for (int i = 0; i < 3; i++) {
                while (*rest == ' ') rest++;
                f[i] = parse_num(rest);
                while (*rest >= '0' && *rest <= '9') rest++;
            }
            *active = f[0];
            *objsize = f[2];
            return 1;
        }
        while (*p && *p != '\n') p++;
        if (*p) p++;
    }
    return 0;
}

/* ------------------------------------------------------------ guards --- */

struct guard_sum {
    int ranges, guard, prot_none;
    long pages, confirmed;
};

static int lib_of(const char *path) {
    /* ".../libzyg<n>.so" */
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '/') b = p + 1;
    return rt_strprefix(b, "libzyg") != NULL;
}

static int guard_cb(const struct guardld_guard *g, void *data) {
    struct guard_sum *s = data;
    if (!lib_of(g->object)) return 0;
    s->ranges++;
    s->guard += g->mode == 0;
    s->prot_none += g->mode == 1;
    s->pages += (long)(g->len / 4096);
    if (g->confirmed_pages > 0) s->confirmed += g->confirmed_pages;
    const char *b = g->object;
    for (const char *p = g->object; *p; p++)
        if (*p == '/') b = p + 1;
    if (!probe_start && rt_streq(b, "libzyg0.so")) {
        probe_start = g->start;
        probe_len = g->len;
    }
    return 0;
}

/* ------------------------------------------------------------ children --- */

/* Two records per child: the first after the library calls and the VMA
 * count (kind 1), the second with the probe's result (kind 2). */
struct report {
    int kind, j, calls_ok, vmas, probe_status, pad;
    long guarded, t_start, pte_kb;
};

static int rep_pipe[2], go_pipe[2];

__attribute__((noreturn)) static void child(int j) {
    long t_start = now_ns();
    sys_close(go_pipe[1]);
    sys_close(rep_pipe[0]);
    struct report r = {.kind = 1, .j = j, .calls_ok = 1, .t_start = t_start};
    for (int i = 0; i < nlibs; i++)
        if (calls[i](i + 1) != 4L * (i + 1) + 2L * i) r.calls_ok = 0;
    r.vmas = count_vmas();
    r.pte_kb = status_kb("VmPTE:");
    sys_write(rep_pipe[1], &r, sizeof r);
    r.kind = 2;
    r.guarded = rt_pagemap_guarded(probe_start, probe_len); /* this child's own pagemap */
    int gp = sys_fork();
    if (gp == 0) {
        (void)*(volatile char *)probe_start;
        sys_exit_group(0);
    }
    int st = 0;
    if (gp < 0 || sys_wait4(gp, &st, 0, NULL) != gp) st = -1;
    r.probe_status = st;
    sys_write(rep_pipe[1], &r, sizeof r);
    /* Stay alive (and counted) until the parent closes the pipe. */
    char c;
    while (sys_read(go_pipe[0], &c, 1) > 0) {
    }
    sys_exit_group(0);
}

static void print_probe(int st) {
    if (st == -1) print_str("error");
    else if ((st & 0x7f) == 0) {
        print_str("exit:");
        print_dec((st >> 8) & 0xff);
    } else if ((st & 0x7f) == 11) print_str("segv");
    else {
        print_str("sig:");
        print_dec(st & 0x7f);
    }
}

static char path_buf[4096];

int main(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc != 4) rt_fail("usage: zygote N M LIBDIR");
    nlibs = (int)parse_num(argv[1]);
    int m = (int)parse_num(argv[2]);
    const char *dir = argv[3];
    if (nlibs < 1 || nlibs > MAX_LIBS || m < 1) rt_fail("bad N or M");

    /* No core files from the probing grandchildren. */
    unsigned long nocore[2] = {0, 0};
    rt_syscall2(SYS_setrlimit, RLIMIT_CORE, (long)nocore);

    for (int i = 0; i < nlibs; i++) {
        size_t k = rt_strlen(dir);
        memcpy(path_buf, dir, k);
        const char *pre = "/libzyg";
        memcpy(path_buf + k, pre, 7);
        k += 7;
        char num[12];
        int d = sizeof num;
        unsigned v = (unsigned)i;
        do {
            num[--d] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        memcpy(path_buf + k, num + d, sizeof num - d);
        k += sizeof num - d;
        memcpy(path_buf + k, ".so", 4);
        void *h = dlopen(path_buf, RTLD_NOW);
        if (!h) rt_fail(dlerror());
        calls[i] = (call_fn)dlsym(h, "zl_call");
        if (!calls[i]) rt_fail(dlerror());
    }
    struct guard_sum gs = {0, 0, 0, 0, 0};
    guardld_guards(guard_cb, &gs);
    if (!probe_start) rt_fail("libzyg0.so has no padding range");

    print_kv_dec("libs", nlibs);
    print_kv_dec("children", m);
    print_kv_dec("lib_ranges", gs.ranges);
    print_kv_dec("lib_ranges_guard", gs.guard);
    print_kv_dec("lib_ranges_prot_none", gs.prot_none);
    print_kv_dec("lib_pages", gs.pages);
    print_kv_dec("lib_confirmed_pages", gs.confirmed);
    print_kv_dec("probe_pages", (long)(probe_len / 4096));
    print_kv_dec("parent_vmas", count_vmas());
    print_kv_dec("parent_pte_kb", status_kb("VmPTE:"));

    if (rt_syscall2(SYS_pipe2, (long)rep_pipe, O_CLOEXEC) < 0 || rt_syscall2(SYS_pipe2, (long)go_pipe, O_CLOEXEC) < 0)
        rt_fail("pipe2");
    unsigned long slab_before = 0, slab_alive = 0, objsize = 0;
    unsigned long avc_before = 0, avc_alive = 0, avc_size = 0;
    int slab = slab_cache("vm_area_struct ", &slab_before, &objsize);
    int avc = slab_cache("anon_vma_chain ", &avc_before, &avc_size);

    static int pids[65536];
    if (m > 65536) rt_fail("M too large");
    int ok = 1;
    for (int j = 0; j < m; j++) {
        rt_flush(); /* a child must not inherit buffered output */
        long t0 = now_ns();
        int pid = sys_fork();
        if (pid == 0) child(j);
        long t1 = now_ns();
        if (pid < 0) rt_fail("fork");
        pids[j] = pid;
        struct report r;
        if (sys_read(rep_pipe[0], &r, sizeof r) != (long)sizeof r || r.j != j || r.kind != 1)
            rt_fail("lost a child's first report");
        long t2 = now_ns();
        long t_start = r.t_start;
        if (sys_read(rep_pipe[0], &r, sizeof r) != (long)sizeof r || r.j != j || r.kind != 2)
            rt_fail("lost a child's probe report");
        ok &= r.calls_ok;
        print_str("child j=");
        print_dec(j);
        print_str(" vmas=");
        print_dec(r.vmas);
        print_str(" calls_ok=");
        print_dec(r.calls_ok);
        print_str(" probe=");
        print_probe(r.probe_status);
        print_str(" guarded=");
        print_dec(r.guarded);
        print_str(" fork_call_ns=");
        print_dec(t1 - t0);
        print_str(" start_ns=");
        print_dec(t_start - t0);
        print_str(" report_ns=");
        print_dec(t2 - t0);
        print_str(" pte_kb=");
        print_dec(r.pte_kb);
        print_char('\n');
    }
    if (slab && slab_cache("vm_area_struct ", &slab_alive, &objsize)) {
        print_kv_dec("slab_objsize", (long)objsize);
        print_kv_dec("slab_before", (long)slab_before);
        print_kv_dec("slab_alive", (long)slab_alive);
    } else {
        print_kv_str("slab", "unreadable");
    }
    if (avc && slab_cache("anon_vma_chain ", &avc_alive, &avc_size)) {
        print_kv_dec("avc_objsize", (long)avc_size);
        print_kv_dec("avc_before", (long)avc_before);
        print_kv_dec("avc_alive", (long)avc_alive);
    }
    sys_close(go_pipe[1]);
    int exit_ok = 1;
    for (int j = 0; j < m; j++) {
        int st = 0;
        if (sys_wait4(pids[j], &st, 0, NULL) != pids[j] || st != 0) exit_ok = 0;
    }
    print_kv_dec("children_exit_ok", exit_ok);
    return ok && exit_ok ? 0 : 1;
}
