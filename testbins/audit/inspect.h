/* What a glibc test program observes of its own libraries: for each
 * object whose name contains NEEDLE, its PT_LOADs and padding (from its
 * program headers, page size from sysconf), the VMAs and ---p VMAs in its
 * span (/proc/self/maps), the padding pages with pagemap bit 58, and how a
 * forked child (and grandchild) reading padding ends. Independent of any
 * loader: the oracle for what the audit module does. */
#ifndef AUDIT_INSPECT_H
#define AUDIT_INSPECT_H
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt/pagemap.h"

#ifndef NEEDLE
#define NEEDLE "/libaudit"
#endif

static long page;

struct obj { char name[256]; uintptr_t start, end; int loads; uintptr_t pad[8][2]; int npad; };
static struct obj objs[16];
static int nobjs;

static int collect(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size; (void)data;
    if (!strstr(info->dlpi_name, NEEDLE) || nobjs == 16) return 0;
    struct obj *o = &objs[nobjs++];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", strrchr(info->dlpi_name, '/') + 1);
    uintptr_t prev_end = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0) continue;
        uintptr_t s = (info->dlpi_addr + p->p_vaddr) & ~(page - 1);
        uintptr_t e = (info->dlpi_addr + p->p_vaddr + p->p_memsz + page - 1) & ~(page - 1);
        if (o->loads == 0) o->start = s;
        else if (s > prev_end && o->npad < 8) { o->pad[o->npad][0] = prev_end; o->pad[o->npad][1] = s; o->npad++; }
        prev_end = e;
        o->end = e;
        o->loads++;
    }
    return 0;
}

/* One line of /proc/self/maps (the one parser of these programs). */
struct vma { unsigned long start, end, offset, inode; char perms[8], path[300]; };

/* The next VMA of `f` (opened on /proc/self/maps); 0 at the end. */
static int next_vma(FILE *f, struct vma *v) {
    char line[512], dev[16];
    while (f && fgets(line, sizeof line, f)) {
        v->path[0] = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %299s", &v->start, &v->end, v->perms, &v->offset, dev, &v->inode, v->path) >= 6) return 1;
    }
    return 0;
}

/* VMAs of /proc/self/maps inside [start, end), and how many are ---p. */
static void vmas(uintptr_t start, uintptr_t end, int *all, int *none) {
    FILE *f = fopen("/proc/self/maps", "r");
    struct vma v;
    *all = *none = 0;
    while (next_vma(f, &v))
        if (v.start < end && v.end > start) { (*all)++; if (!strcmp(v.perms, "---p")) (*none)++; }
    if (f) fclose(f);
}

static long inspect_pread(int fd, void *buf, unsigned long n, unsigned long off) {
    return (long)pread(fd, buf, n, (off_t)off);
}

/* Pages of [start, end) with pagemap bit 58 (testbins/rt/pagemap.h). */
static long guarded(uintptr_t start, uintptr_t end) {
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    long n = pagemap_count_guarded(inspect_pread, fd, start, end - start, (unsigned long)page);
    close(fd);
    return n;
}

static const char *how(int st) {
    static char b[32];
    if (WIFSIGNALED(st)) return WTERMSIG(st) == SIGSEGV ? "SIGSEGV" : (snprintf(b, sizeof b, "signal%d", WTERMSIG(st)), b);
    snprintf(b, sizeof b, "exit%d", WEXITSTATUS(st));
    return b;
}

/* A child (and with `grand`, its child) reads one byte at `a`. */
static const char *probe_child(uintptr_t a, int grand) {
    pid_t c = fork();
    if (c == 0) {
        if (grand) {
            pid_t g = fork();
            if (g == 0) { volatile char x = *(volatile char *)a; (void)x; _exit(0); }
            int st; waitpid(g, &st, 0);
            _exit(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV ? 11 : 1);
        }
        volatile char x = *(volatile char *)a; (void)x;
        _exit(0);
    }
    int st; waitpid(c, &st, 0);
    if (grand && WIFEXITED(st) && WEXITSTATUS(st) == 11) return "SIGSEGV";
    return how(st);
}


/* Print one line per collected object. */
static void report_objects(void) {
    for (int i = 0; i < nobjs; i++) {
        struct obj *o = &objs[i];
        int all, none; long pad = 0, g = 0;
        vmas(o->start, o->end, &all, &none);
        for (int k = 0; k < o->npad; k++) { pad += (long)((o->pad[k][1] - o->pad[k][0]) / page); g += guarded(o->pad[k][0], o->pad[k][1]); }
        printf("obj %s loads=%d vmas=%d none=%d padding=%ld guarded=%ld child=%s grandchild=%s\n", o->name, o->loads, all, none, pad, g,
               o->npad ? probe_child(o->pad[0][0], 0) : "-", o->npad ? probe_child(o->pad[o->npad - 1][1] - page, 1) : "-");
    }
}
#endif
