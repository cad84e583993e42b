/* Lazy binding (glibc's, for references nothing defines at start-up):
 *   lazy_main never   a library's missing function, never called: exit 0
 *   lazy_main call    called: glibc's "symbol lookup error", exit 127
 *   lazy_main later   defined by a library dlopen'd RTLD_GLOBAL first,
 *                     still there after its dlclose
 *   lazy_main dlopen DIR   RTLD_LAZY loads a library with a missing
 *                     function (RTLD_NOW refuses it); calling it: 127 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int lazy_maybe_missing(int call);
int lazy_later(int x);

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "never";
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!strcmp(mode, "never")) {
        printf("never: %d\n", lazy_maybe_missing(0));
    } else if (!strcmp(mode, "call")) {
        printf("before the call\n");
        printf("call: %d\n", lazy_maybe_missing(1));
    } else if (!strcmp(mode, "later")) {
        char path[4096];
        snprintf(path, sizeof path, "%s/libprovider.so", argc > 2 ? argv[2] : ".");
        void *p = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
        if (!p) {
            printf("dlopen provider: %s\n", dlerror());
            return 1;
        }
        printf("later: %d\n", lazy_later(4));
        /* The binding keeps the provider loaded (glibc adds a dependency). */
        printf("dlclose provider: %d\n", dlclose(p));
        printf("later again: %d\n", lazy_later(5));
    } else if (!strcmp(mode, "dlopen")) {
        char path[4096];
        snprintf(path, sizeof path, "%s/libdl_undef.so", argc > 2 ? argv[2] : ".");
        printf("RTLD_NOW: %s\n", dlopen(path, RTLD_NOW) ? "loaded" : "refused");
        void *h = dlopen(path, RTLD_LAZY);
        printf("RTLD_LAZY: %s\n", h ? "loaded" : dlerror());
        if (!h) return 1;
        int (*f)(int) = (int (*)(int))dlsym(h, "undef_value");
        printf("dlsym: %s\n", f ? "found" : "missing");
        printf("call: %d\n", f(1));
    }
    return 0;
}
