/* libcycle_c.so: defines cyc_c; binds to cyc_b (libcycle_b.so, loaded
 * before it RTLD_GLOBAL, not one of its dependencies) by relocation. */
#include <unistd.h>

extern int cyc_b(int);
int cyc_c(int x) { return cyc_b(x) + 10; }

__attribute__((destructor)) static void gone(void) {
    static const char m[] = "  [libcycle_c.so finalized]\n";
    if (write(1, m, sizeof m - 1) < 0) {}
}
