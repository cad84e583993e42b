/* libcycle_b.so: defines cyc_b; calls cyc_c, which nothing defines when
 * it is loaded (RTLD_LAZY: left to lazy binding until the first call). */
#include <unistd.h>

extern int cyc_c(int);
int cyc_b(int x) { return x + 1; }
int b_calls_c(int x) { return cyc_c(x) * 2; }

__attribute__((destructor)) static void gone(void) {
    static const char m[] = "  [libcycle_b.so finalized]\n";
    if (write(1, m, sizeof m - 1) < 0) {}
}
