/* A link-time stand-in for guardld's runtime API, with DT_SONAME
 * ld-guardld.so.1: GNU ld refuses the guardld executable itself as a link
 * input ("cannot use executable file"), which rust-lld accepts. At run time
 * guardld resolves NEEDED ld-guardld.so.1 to itself, so this file is never
 * loaded. */
#include "guardld.h"

void *dlopen(const char *file, int mode) {
    (void)file;
    (void)mode;
    return 0;
}
void *dlsym(void *handle, const char *name) {
    (void)handle;
    (void)name;
    return 0;
}
char *dlerror(void) { return 0; }
