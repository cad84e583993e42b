/* libcyca.so NEEDs libcycb.so, which NEEDs libcyca.so. */
#include "say.h"
int cyc_b(int n);
__attribute__((constructor)) static void ctor(void) { say("init cyca"); }
int cyc_a(int n) { return n <= 0 ? 0 : 1 + cyc_b(n - 1); }
