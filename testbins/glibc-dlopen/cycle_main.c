/* Two dlopen'd libraries bound to each other (libcycle_c.so to
 * libcycle_b.so by relocation, libcycle_b.so to libcycle_c.so by lazy
 * binding): glibc's dlclose keeps both while either has a handle and
 * unloads both with the last. argv[1] = directory of the libraries.
 * Exits 0. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char buf[256];
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

static void state(const char *when) {
    say("%s: b %s, c %s\n", when, dl_iterate_phdr(seen, "libcycle_b.so") ? "loaded" : "gone",
        dl_iterate_phdr(seen, "libcycle_c.so") ? "loaded" : "gone");
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    char pb[600], pc[600];
    snprintf(pb, sizeof pb, "%s/libcycle_b.so", argv[1]);
    snprintf(pc, sizeof pc, "%s/libcycle_c.so", argv[1]);
    void *hb = dlopen(pb, RTLD_LAZY | RTLD_GLOBAL);
    void *hc = hb ? dlopen(pc, RTLD_NOW | RTLD_GLOBAL) : NULL;
    if (!hc) {
        say("dlopen: %s\n", dlerror());
        return 1;
    }
    int (*f)(int) = (int (*)(int))dlsym(hb, "b_calls_c");
    say("b_calls_c(1) = %d\n", f ? f(1) : -1);
    say("dlclose(b) = %d\n", dlclose(hb));
    state("after dlclose(b)");
    say("dlclose(c) = %d\n", dlclose(hc));
    state("after dlclose(c)");
    say("exit\n");
    return 0;
}
