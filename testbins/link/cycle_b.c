/* libcycb.so NEEDs libcyca.so (second build; the first has no NEEDED). */
#include "say.h"
int cyc_a(int n);
__attribute__((constructor)) static void ctor(void) { say("init cycb"); }
int cyc_b(int n) { return n <= 0 ? 0 : 10 + cyc_a(n - 1); }
