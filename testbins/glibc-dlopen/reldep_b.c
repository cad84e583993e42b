/* libreldep_b.so: what the other objects of reldep_main.c bind to; says
 * when it is unloaded. */
#include <unistd.h>

int fb(int x) { return 3 * x + 1; }

__attribute__((destructor)) static void gone(void) {
    static const char m[] = "  [libreldep_b.so finalized]\n";
    if (write(1, m, sizeof m - 1) < 0) {}
}
