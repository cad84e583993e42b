/*
 * gzygote: the glibc zygote (driven by zygote-bench's glibc modes,
 * zygote/src/main.rs; see docs/perf.md "## zygote"). The same protocol and
 * output as zygote.c, for a glibc program under glibc's own ld.so: plain
 * (glibc's PROT_NONE gaps) or with guardld's audit module
 * (LD_AUDIT=libguardld_audit.so: the gaps become guarded extensions).
 *
 *   gzygote N M LIBDIR
 *
 * Differences from zygote.c: the libraries' padding ranges come from their
 * program headers (dl_iterate_phdr), not from guardld_guards: a range is
 * counted "guard" when pagemap bit 58 is set on all its pages, "prot-none"
 * when a ---p VMA covers it; fork() is glibc's (its atfork handling
 * included, as in any glibc zygote). Hosted C: system gcc and glibc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rt/pagemap.h"

#define MAX_LIBS 4096

typedef long (*call_fn)(long);

static call_fn calls[MAX_LIBS];
static int nlibs;
static long page;
static unsigned long probe_start, probe_len;

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static char file_buf[512 * 1024];

/* A /proc file into file_buf (NUL-terminated); its length or -1. */
static long read_proc(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, file_buf + n, sizeof file_buf - 1 - n);
        if (r < 0) {
            close(fd);
            return -1;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n == sizeof file_buf - 1) break;
    }
    file_buf[n] = 0;
    close(fd);
    return (long)n;
}

static int count_vmas(void) {
    long n = read_proc("/proc/self/maps");
    if (n < 0) return -1;
    int lines = 0;
    for (long i = 0; i < n; i++) lines += file_buf[i] == '\n';
    return lines;
}

/* A /proc/self/status field in kB ("VmPTE:"), or -1. */
static long status_kb(const char *key) {
    if (read_proc("/proc/self/status") < 0) return -1;
    char *p = strstr(file_buf, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* Active objects and object size of a slab cache (`name` with its
 * trailing space); 0 if unreadable. */
static int slab_cache(const char *name, unsigned long *active, unsigned long *objsize) {
    if (read_proc("/proc/slabinfo") < 0) return 0;
    for (char *p = file_buf; *p;) {
        if (!strncmp(p, name, strlen(name))) {
            unsigned long f[3];
            char *q = p + strlen(name);
            for (int i = 0; i < 3; i++) f[i] = strtoul(q, &q, 10);
            *active = f[0];
            *objsize = f[2];
            return 1;
        }
        p = strchr(p, '\n');
        if (!p) break;
        p++;
    }
    return 0;
}

static long pread_fn(int fd, void *buf, unsigned long n, unsigned long off) {
    return pread(fd, buf, n, (off_t)off);
}

/* Pages of [start, start+len) guarded in this process's own pagemap. */
static long guarded_pages(unsigned long start, unsigned long len) {
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    long n = pagemap_count_guarded(pread_fn, fd, start, len, (unsigned long)page);
    close(fd);
    return n;
}

/* Whether a ---p VMA covers [a, b) (read from the maps in file_buf). */
static int prot_none_covers(const char *maps, unsigned long a, unsigned long b) {
    for (const char *p = maps; *p;) {
        unsigned long x, y;
        char perms[5];
        if (sscanf(p, "%lx-%lx %4s", &x, &y, perms) == 3 && x <= a && b <= y && !strcmp(perms, "---p")) return 1;
        p = strchr(p, '\n');
        if (!p) break;
        p++;
    }
    return 0;
}

/* ------------------------------------------------------------ padding --- */

struct pad_sum {
    int ranges, guard, prot_none;
    long pages, confirmed;
    char *maps;
};

static int pad_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct pad_sum *s = data;
    const char *b = strrchr(info->dlpi_name, '/');
    b = b ? b + 1 : info->dlpi_name;
    if (strncmp(b, "libzyg", 6)) return 0;
    unsigned long prev_end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0) continue;
        unsigned long start = (info->dlpi_addr + p->p_vaddr) & ~(page - 1);
        unsigned long end = (info->dlpi_addr + p->p_vaddr + p->p_memsz + page - 1) & ~(page - 1);
        if (prev_end && start > prev_end) {
            unsigned long len = start - prev_end;
            long g = guarded_pages(prev_end, len);
            s->ranges++;
            s->pages += (long)(len / page);
            if (g > 0) s->confirmed += g;
            s->guard += g == (long)(len / page);
            s->prot_none += prot_none_covers(s->maps, prev_end, start);
            if (!probe_start && !strcmp(b, "libzyg0.so")) {
                probe_start = prev_end;
                probe_len = len;
            }
        }
        prev_end = end;
    }
    return 0;
}

/* ------------------------------------------------------------ children --- */

struct report {
    int kind, j, calls_ok, vmas, probe_status, pad;
    long guarded, t_start, pte_kb;
};

static int rep_pipe[2], go_pipe[2];

__attribute__((noreturn)) static void child(int j) {
    long t_start = now_ns();
    close(go_pipe[1]);
    close(rep_pipe[0]);
    struct report r = {.kind = 1, .j = j, .calls_ok = 1, .t_start = t_start};
    for (int i = 0; i < nlibs; i++)
        if (calls[i](i + 1) != 4L * (i + 1) + 2L * i) r.calls_ok = 0;
    r.vmas = count_vmas();
    r.pte_kb = status_kb("VmPTE:");
    if (write(rep_pipe[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
    r.kind = 2;
    r.guarded = guarded_pages(probe_start, probe_len);
    pid_t gp = fork();
    if (gp == 0) {
        (void)*(volatile char *)probe_start;
        _exit(0);
    }
    int st = 0;
    if (gp < 0 || waitpid(gp, &st, 0) != gp) st = -1;
    r.probe_status = st;
    if (write(rep_pipe[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
    char c;
    while (read(go_pipe[0], &c, 1) > 0) {
    }
    _exit(0);
}

static void print_probe(int st) {
    if (st == -1) printf("error");
    else if (WIFEXITED(st)) printf("exit:%d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) printf("segv");
    else printf("sig:%d", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
}

static void fail(const char *what) {
    fprintf(stderr, "gzygote: %s\n", what);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 4) fail("usage: gzygote N M LIBDIR");
    nlibs = atoi(argv[1]);
    int m = atoi(argv[2]);
    const char *dir = argv[3];
    if (nlibs < 1 || nlibs > MAX_LIBS || m < 1 || m > 65536) fail("bad N or M");
    page = sysconf(_SC_PAGESIZE);
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);

    static char path[4096];
    for (int i = 0; i < nlibs; i++) {
        snprintf(path, sizeof path, "%s/libzyg%d.so", dir, i);
        void *h = dlopen(path, RTLD_NOW);
        if (!h) fail(dlerror());
        calls[i] = (call_fn)dlsym(h, "zl_call");
        if (!calls[i]) fail(dlerror());
    }
    static char maps[512 * 1024];
    if (read_proc("/proc/self/maps") < 0) fail("/proc/self/maps");
    memcpy(maps, file_buf, sizeof maps);
    struct pad_sum ps = {0, 0, 0, 0, 0, maps};
    dl_iterate_phdr(pad_cb, &ps);
    if (!probe_start) fail("libzyg0.so has no padding range");

    printf("libs=%d\nchildren=%d\nlib_ranges=%d\nlib_ranges_guard=%d\nlib_ranges_prot_none=%d\n", nlibs, m, ps.ranges, ps.guard,
           ps.prot_none);
    printf("lib_pages=%ld\nlib_confirmed_pages=%ld\nprobe_pages=%lu\n", ps.pages, ps.confirmed, probe_len / page);
    printf("parent_vmas=%d\nparent_pte_kb=%ld\n", count_vmas(), status_kb("VmPTE:"));

    if (pipe2(rep_pipe, O_CLOEXEC) < 0 || pipe2(go_pipe, O_CLOEXEC) < 0) fail("pipe2");
    unsigned long slab_before = 0, slab_alive = 0, objsize = 0;
    unsigned long avc_before = 0, avc_alive = 0, avc_size = 0;
    int slab = slab_cache("vm_area_struct ", &slab_before, &objsize);
    int avc = slab_cache("anon_vma_chain ", &avc_before, &avc_size);

    static pid_t pids[65536];
    int ok = 1;
    for (int j = 0; j < m; j++) {
        fflush(stdout); /* a child must not inherit buffered output */
        long t0 = now_ns();
        pid_t pid = fork();
        if (pid == 0) child(j);
        long t1 = now_ns();
        if (pid < 0) fail("fork");
        pids[j] = pid;
        struct report r;
        if (read(rep_pipe[0], &r, sizeof r) != (ssize_t)sizeof r || r.j != j || r.kind != 1) fail("lost a child's first report");
        long t2 = now_ns();
        long t_start = r.t_start;
        if (read(rep_pipe[0], &r, sizeof r) != (ssize_t)sizeof r || r.j != j || r.kind != 2) fail("lost a child's probe report");
        ok &= r.calls_ok;
        printf("child j=%d vmas=%d calls_ok=%d probe=", j, r.vmas, r.calls_ok);
        print_probe(r.probe_status);
        printf(" guarded=%ld fork_call_ns=%ld start_ns=%ld report_ns=%ld pte_kb=%ld\n", r.guarded, t1 - t0, t_start - t0, t2 - t0,
               r.pte_kb);
    }
    if (slab && slab_cache("vm_area_struct ", &slab_alive, &objsize))
        printf("slab_objsize=%lu\nslab_before=%lu\nslab_alive=%lu\n", objsize, slab_before, slab_alive);
    else
        printf("slab=unreadable\n");
    if (avc && slab_cache("anon_vma_chain ", &avc_alive, &avc_size))
        printf("avc_objsize=%lu\navc_before=%lu\navc_alive=%lu\n", avc_size, avc_before, avc_alive);
    close(go_pipe[1]);
    int exit_ok = 1;
    for (int j = 0; j < m; j++) {
        int st = 0;
        if (waitpid(pids[j], &st, 0) != pids[j] || st != 0) exit_ok = 0;
    }
    printf("children_exit_ok=%d\n", exit_ok);
    return ok && exit_ok ? 0 : 1;
}
