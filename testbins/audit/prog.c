/* A glibc program with ten 64 KiB-aligned libraries (libaudit1..10.so) and
 * one it dlopens (libauditplugin.so, path in argv[2] or beside the program).
 *
 *   prog run DIR     calls every library, dlopens/dlsyms/dlcloses the
 *                    plugin; the same output under any loader.
 *   prog check DIR   the same, then per library object: its PT_LOADs, the
 *                    VMAs and ---p VMAs in its span (/proc/self/maps), its
 *                    padding pages (from its program headers, page size
 *                    from sysconf) and how many carry pagemap bit 58, and
 *                    how a forked child and grandchild that read a padding
 *                    page end; the plugin's VMAs after dlclose.
 *   prog probe DIR   reads a padding page of libaudit1.so in this process.
 */
#include "audit/inspect.h"
#include <dlfcn.h>

int audit_fn10(int);

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    page = sysconf(_SC_PAGESIZE);
    printf("sum=%d\n", audit_fn10(3));
    char path[4096];
    snprintf(path, sizeof path, "%s/libauditplugin.so", argv[2]);
    void *h = dlopen(path, RTLD_NOW);
    if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
    int (*pf)(int) = (int (*)(int))dlsym(h, "plugin_fn");
    printf("plugin=%d\n", pf ? pf(7) : -1);
    if (!strcmp(argv[1], "check") || !strcmp(argv[1], "probe")) {
        dl_iterate_phdr(collect, NULL);
        if (!strcmp(argv[1], "probe")) {
            for (int i = 0; i < nobjs; i++)
                if (!strcmp(objs[i].name, "libaudit1.so") && objs[i].npad) {
                    fflush(stdout);
                    volatile char x = *(volatile char *)objs[i].pad[0][0];
                    (void)x;
                    printf("read padding and lived\n");
                }
            return 0;
        }
        report_objects();
    }
    dlclose(h);
    if (!strcmp(argv[1], "check")) {
        FILE *f = fopen("/proc/self/maps", "r");
        struct vma v; int left = 0;
        while (next_vma(f, &v)) left += strstr(v.path, "libauditplugin.so") != NULL;
        if (f) fclose(f);
        printf("plugin_vmas_after_dlclose=%d\n", left);
    }
    return 0;
}
