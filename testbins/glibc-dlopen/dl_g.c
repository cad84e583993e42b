/* libdl_g.so: opened RTLD_GLOBAL, then found through RTLD_DEFAULT; and a
 * dlopen from inside a library, whose $ORIGIN is this library's directory. */
#include <dlfcn.h>
int g_value(void) { return 77; }
const char *deep_which(void) { return "global"; }
void *g_open(const char *name) {
    void *h = dlopen(name, RTLD_NOW);
    __asm__ volatile("" ::: "memory"); /* no tail call: the caller is this library */
    return h;
}
