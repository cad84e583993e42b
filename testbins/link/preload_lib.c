/* libpre.so: preloaded; interposes greet() of libinter.so. */
#include "say.h"

__attribute__((constructor)) static void pre_init(void) { say("init pre"); }
const char *greet(void) { return "greet from libpre"; }
