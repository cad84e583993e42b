/* Calls libifunc_err.so's IFUNC hooked() (its resolver needs a symbol of
 * libdep.so). */
#include "say.h"
int hooked(void);
int main(void) {
    say_kv("hooked", hooked());
    return 0;
}
