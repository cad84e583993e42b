/* libifunc_dl.so (tests/glibc_dlopen.rs): IFUNC resolvers that call the
   dl* interface while the loader relocates the library. glibc's loader
   lock is recursive, so under glibc both calls succeed; guardld answers
   dlsym from the registry the relocation holds, and refuses dlopen there
   (a load inside a load) with a dlerror instead of waiting for itself. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

static int found(void) { return 1; }
static int not_found(void) { return 0; }

static void *resolve_by_dlsym(void) {
    return dlsym(RTLD_DEFAULT, "puts") != NULL ? (void *)found : (void *)not_found;
}
int by_dlsym(void) __attribute__((ifunc("resolve_by_dlsym")));

/* No dlerror() here: during relocation the thread's TLS is not set up
   yet (glibc copies the TLS images after relocating), and dlerror's text
   goes through gettext and the locale in TLS. */
static void *resolve_by_dlopen(void) {
    return dlopen("libm.so.6", RTLD_NOW) != NULL ? (void *)found : (void *)not_found;
}
int by_dlopen(void) __attribute__((ifunc("resolve_by_dlopen")));
