/* libhvpre.so: a preload that must never be loaded into a privileged
 * (AT_SECURE) program: its constructor prints and it interposes hv_fn. */
#include "link/say.h"
__attribute__((constructor)) static void pre_init(void) { say("PRELOADED (must not happen under AT_SECURE)"); }
int hv_fn(void) { return 999; }
