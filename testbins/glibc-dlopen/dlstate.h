/* Shared by reldep_main.c and cycle_main.c: output through write(2) (so
 * that the libraries' finalizer lines keep their place) and whether an
 * object is still loaded (dl_iterate_phdr lists it). */
#ifndef GLIBC_DLOPEN_DLSTATE_H
#define GLIBC_DLOPEN_DLSTATE_H
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0 && write(1, buf, (size_t)n) < 0) {}
}

static int seen(struct dl_phdr_info *i, size_t size, void *name) {
    (void)size;
    const char *slash = strrchr(i->dlpi_name, '/');
    return slash && strcmp(slash + 1, name) == 0;
}

/* "loaded" or "gone": whether the object file `name` is still loaded. */
static const char *loaded(const char *name) { return dl_iterate_phdr(seen, (void *)name) ? "loaded" : "gone"; }
#endif
