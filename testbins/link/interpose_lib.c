/* libinter.so: who() and lib_value are interposed by the executable;
 * greet() by a preloaded library (preload_lib.c). Every internal use goes
 * through the GOT/PLT (default visibility, no -Bsymbolic). */
#include "say.h"

const char *who(void) { return "libinter"; }
const char *lib_asks_who(void) { return who(); }
int lib_value = 1;
int lib_reads_value(void) { return lib_value; }
const char *greet(void) { return "greet from libinter"; }
const char *lib_asks_greet(void) { return greet(); }
