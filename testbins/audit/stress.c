/* dlopen under pressure, for the audit module's after-start-up path.
 *
 *   stress race N DIR   a thread maps and unmaps anonymous memory in a
 *                       loop while the main thread dlopens and dlcloses
 *                       libauditplugin.so N times; after each dlopen, every
 *                       VMA inside the plugin's span must be the plugin's
 *                       own (no foreign mapping in a momentary hole) and its
 *                       padding unreadable (guarded or PROT_NONE).
 *   stress mlock DIR    mlockall(MCL_FUTURE), then dlopen: guards cannot be
 *                       installed on locked memory, so the padding must stay
 *                       PROT_NONE, never readable.
 * Prints one summary line per mode. */
#define NEEDLE "/libauditplugin"
#include "audit/inspect.h"
#include <dlfcn.h>
#include <pthread.h>
#include <sys/mman.h>

static volatile int stop;
/* Padding pages of the previous load (the next one lands at the same
 * place): the churning thread aims at them, so any moment they are a
 * hole, it takes them. */
static volatile uintptr_t targets[8];

static void *churn(void *arg) {
    (void)arg;
    unsigned long n = 0;
    while (!stop) {
        uintptr_t hint = targets[n++ % 8];
        void *p = mmap((void *)hint, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | (hint ? MAP_FIXED_NOREPLACE : 0), -1, 0);
        if (p != MAP_FAILED) munmap(p, (size_t)page);
    }
    return NULL;
}

/* VMAs in [start, end) not backed by `file` (bss excepted: anonymous VMAs
 * lying after the file-backed ones, the object's own), and readable VMAs
 * over padding. */
static void check_span(const struct obj *o, int *foreign, int *readable_padding) {
    FILE *f = fopen("/proc/self/maps", "r");
    struct vma v;
    *foreign = *readable_padding = 0;
    uintptr_t last_file_end = 0;
    while (next_vma(f, &v)) {
        unsigned long a = v.start, b = v.end;
        if (b <= o->start || a >= o->end) continue;
        int ours = strstr(v.path, NEEDLE) != NULL || (v.inode == 0 && a >= last_file_end && last_file_end);
        if (strstr(v.path, NEEDLE)) last_file_end = b;
        if (!ours) (*foreign)++;
        for (int k = 0; k < o->npad; k++)
            if (a < o->pad[k][1] && b > o->pad[k][0] && v.perms[0] == 'r' && guarded(o->pad[k][0] > a ? o->pad[k][0] : a, o->pad[k][1] < b ? o->pad[k][1] : b) == 0)
                (*readable_padding)++;
    }
    if (f) fclose(f);
}

static int once(const char *path, int *foreign, int *readable, long *guarded_pages, long *padding) {
    void *h = dlopen(path, RTLD_NOW);
    if (!h) { printf("dlopen: %s\n", dlerror()); return -1; }
    nobjs = 0;
    dl_iterate_phdr(collect, NULL);
    *guarded_pages = *padding = 0;
    if (nobjs != 1) { dlclose(h); return -1; }
    check_span(&objs[0], foreign, readable);
    for (int k = 0; k < objs[0].npad && k < 8; k++) targets[k] = objs[0].pad[k][0];
    for (int k = 0; k < objs[0].npad; k++) {
        *padding += (long)((objs[0].pad[k][1] - objs[0].pad[k][0]) / page);
        *guarded_pages += guarded(objs[0].pad[k][0], objs[0].pad[k][1]);
    }
    dlclose(h);
    return 0;
}

int main(int argc, char **argv) {
    page = sysconf(_SC_PAGESIZE);
    if (argc < 3) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/libauditplugin.so", argv[argc - 1]);
    if (!strcmp(argv[1], "race") && argc == 4) {
        int n = atoi(argv[2]), bad_foreign = 0, bad_readable = 0, fully_guarded = 0;
        pthread_t t;
        pthread_create(&t, NULL, churn, NULL);
        for (int i = 0; i < n; i++) {
            int foreign, readable; long g, pad;
            if (once(path, &foreign, &readable, &g, &pad)) return 1;
            bad_foreign += foreign > 0;
            bad_readable += readable > 0;
            fully_guarded += g == pad && pad > 0;
        }
        stop = 1;
        pthread_join(t, NULL);
        printf("race runs=%d foreign=%d readable_padding=%d fully_guarded=%d\n", n, bad_foreign, bad_readable, fully_guarded);
        return 0;
    }
    if (!strcmp(argv[1], "mlock")) {
        if (mlockall(MCL_CURRENT | MCL_FUTURE)) { printf("mlockall failed\n"); return 1; }
        int foreign, readable; long g, pad;
        if (once(path, &foreign, &readable, &g, &pad)) return 1;
        printf("mlock foreign=%d readable_padding=%d guarded=%ld padding=%ld\n", foreign, readable, g, pad);
        return 0;
    }
    return 2;
}
