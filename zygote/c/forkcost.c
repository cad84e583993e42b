/*
 * forkcost: what a guarded VMA costs fork() (docs/mapping.md, "Guards and
 * fork"). A hosted C program (system gcc and libc), independent of guardld:
 *
 *   gcc -O2 -o /tmp/forkcost zygote/c/forkcost.c
 *   /tmp/forkcost [-k VMAS] [-p PAGES] [-g GUARD] [-P GAP] [-r READ] [-w WRITE]
 *                 [-a] [-l] [-n FORKS] [-f FILE]
 *
 * Maps K private file VMAs of P pages each, side by side (each maps the
 * file from offset 0, so neighbours never merge: one VMA each, like the
 * segments of K libraries). Then, in every VMA:
 *   -r R   reads its first R pages (resident file pages, PTEs present)
 *   -w W   writes its first W pages (private copies: the VMA gets an
 *          anon_vma, as a relocated RELRO or data segment does)
 *   -g G   installs guards on its last G pages (MADV_GUARD_INSTALL)
 *   -P G   leaves its last G pages out of the file mapping instead: they
 *          stay part of the PROT_NONE reservation, one gap VMA each
 *          (glibc's layout; with -g the guards go on the last G pages of
 *          the file mapping before the gap)
 *   -a     maps anonymous memory instead of the file
 * and times N forks (the child exits at once and the parent waits for it;
 * with -l every child stays alive until the last fork is timed, so no
 * child's exit runs during a fork).
 * Prints the median and minimum fork() time, per-VMA deltas are for the
 * caller to take between runs. Also prints what the kernel reports:
 * VmPTE of the parent, how many VMAs smaps flags `gu` (VM_MAYBE_GUARD),
 * and the anon_vma slab objects the setup added (root only; coarse).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Active objects of a slab cache, or -1. */
static long slab_active(const char *name) {
    FILE *f = fopen("/proc/slabinfo", "r");
    if (!f) return -1;
    char line[512];
    long v = -1;
    size_t n = strlen(name);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, name, n) && line[n] == ' ') {
            v = strtol(line + n, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static long status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n)) v = strtol(line + n + 1, NULL, 10);
    if (f) fclose(f);
    return v;
}

/* VMAs in [lo, hi) whose smaps VmFlags include `gu`. */
static int smaps_gu(unsigned long lo, unsigned long hi) {
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    unsigned long a = 0, b = 0;
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long x, y;
        if (sscanf(line, "%lx-%lx ", &x, &y) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            a = x;
            b = y;
        } else if (!strncmp(line, "VmFlags:", 8) && a >= lo && b <= hi && strstr(line, " gu"))
            n++;
    }
    if (f) fclose(f);
    return n;
}

int main(int argc, char **argv) {
    long k = 1000, pages = 16, guard = 0, rd = 0, wr = 0, forks = 200;
    long gap = 0;
    int anon = 0, linger = 0;
    const char *path = "/tmp/forkcost.data";
    int c;
    while ((c = getopt(argc, argv, "k:p:g:P:r:w:n:f:al")) != -1) {
        switch (c) {
        case 'k': k = atol(optarg); break;
        case 'p': pages = atol(optarg); break;
        case 'g': guard = atol(optarg); break;
        case 'P': gap = atol(optarg); break;
        case 'r': rd = atol(optarg); break;
        case 'w': wr = atol(optarg); break;
        case 'n': forks = atol(optarg); break;
        case 'f': path = optarg; break;
        case 'a': anon = 1; break;
        case 'l': linger = 1; break;
        default:
            fprintf(stderr, "usage: forkcost [-k VMAS] [-p PAGES] [-g GUARD] [-P GAP] [-r READ] [-w WRITE] [-a] [-l] [-n FORKS] [-f FILE]\n");
            return 2;
        }
    }
    long ps = sysconf(_SC_PAGESIZE);
    size_t vlen = (size_t)(pages * ps);
    size_t mlen = (size_t)((pages - gap) * ps); /* the mapped part */
    if (gap < 0 || gap >= pages || guard + rd > pages - gap || wr + guard > pages - gap) {
        fprintf(stderr, "forkcost: need GUARD + READ and GUARD + WRITE <= PAGES - GAP, GAP < PAGES\n");
        return 2;
    }
    int fd = -1;
    if (!anon) {
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || ftruncate(fd, (off_t)vlen) != 0) {
            perror(path);
            return 1;
        }
        char *buf = calloc(1, vlen);
        memset(buf, 0x5a, vlen);
        if (write(fd, buf, vlen) != (ssize_t)vlen) return 1;
        free(buf);
        fsync(fd);
    }
    long avc0 = slab_active("anon_vma"), avcc0 = slab_active("anon_vma_chain");
    /* One reservation, then each VMA MAP_FIXED over its part. */
    char *base = mmap(NULL, vlen * (size_t)k, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) return 1;
    for (long i = 0; i < k; i++) {
        char *at = base + vlen * (size_t)i;
        /* Alternate PROT_READ and PROT_READ|PROT_EXEC (anonymous: prot
         * differs, so they do not merge either). */
        int prot = PROT_READ | (wr ? PROT_WRITE : 0) | ((i & 1) ? PROT_EXEC : 0);
        void *p = anon ? mmap(at, mlen, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
                       : mmap(at, mlen, prot, MAP_PRIVATE | MAP_FIXED, fd, 0);
        if (p != at) {
            perror("mmap");
            return 1;
        }
        if (guard && madvise(at + mlen - (size_t)(guard * ps), (size_t)(guard * ps), MADV_GUARD_INSTALL) != 0) {
            perror("madvise(MADV_GUARD_INSTALL)");
            return 1;
        }
        volatile char sink = 0;
        for (long j = 0; j < rd; j++) sink += at[j * ps];
        for (long j = 0; j < wr; j++) at[j * ps] = 1;
        (void)sink;
    }
    long avc1 = slab_active("anon_vma"), avcc1 = slab_active("anon_vma_chain");
    long *t = calloc((size_t)forks, sizeof *t);
    pid_t *pids = calloc((size_t)forks, sizeof *pids);
    int hold[2];
    if (pipe(hold) != 0) return 1;
    for (long i = 0; i < forks; i++) {
        long t0 = now_ns();
        pid_t pid = fork();
        if (pid == 0) {
            char ch;
            close(hold[1]);
            if (linger) (void)!read(hold[0], &ch, 1);
            _exit(0);
        }
        t[i] = now_ns() - t0;
        pids[i] = pid;
        if (!linger) waitpid(pid, NULL, 0);
    }
    close(hold[1]);
    if (linger)
        for (long i = 0; i < forks; i++) waitpid(pids[i], NULL, 0);
    qsort(t, (size_t)forks, sizeof *t, cmp_long);
    printf("k=%ld pages=%ld guard=%ld gap=%ld read=%ld write=%ld anon=%d linger=%d forks=%ld fork_median_us=%.1f fork_min_us=%.1f "
           "vmpte_kb=%ld gu_vmas=%d",
           k, pages, guard, gap, rd, wr, anon, linger, forks, t[forks / 2] / 1000.0, t[0] / 1000.0, status_kb("VmPTE:"),
           smaps_gu((unsigned long)base, (unsigned long)(base + vlen * (size_t)k)));
    if (avc0 >= 0) printf(" anon_vma_added=%ld anon_vma_chain_added=%ld", avc1 - avc0, avcc1 - avcc0);
    printf("\n");
    if (!anon) unlink(path);
    return 0;
}
