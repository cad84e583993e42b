/* libreldep_user.so: binds to fb by relocation, found in
 * libreldep_b.so, which an earlier dlopen made global (it is not a
 * dependency of this library). */
#include <unistd.h>

extern int fb(int);
int use_fb(int x) { return fb(x) + 100; }

__attribute__((destructor)) static void gone(void) {
    static const char m[] = "  [libreldep_user.so finalized]\n";
    if (write(1, m, sizeof m - 1) < 0) {}
}
