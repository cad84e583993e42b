/* libreldep_c.so: looks fb up with dlsym(RTLD_DEFAULT) itself. */
#include <dlfcn.h>
#include <unistd.h>

void *lookup_fb(void) { return dlsym(RTLD_DEFAULT, "fb"); }

__attribute__((destructor)) static void gone(void) {
    static const char m[] = "  [libreldep_c.so finalized]\n";
    if (write(1, m, sizeof m - 1) < 0) {}
}
