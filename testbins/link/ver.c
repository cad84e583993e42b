/* Prints which vfunc it is bound to: linked against the first build of
 * libver.so it calls vfunc@VERS_1, against the second vfunc@VERS_2. */
#include "say.h"
int vfunc(void);
int main(void) {
    say_kv("vfunc", vfunc());
    int (*volatile p)(void) = vfunc;   /* a GLOB_DAT too, not only the PLT */
    say_kv("via pointer", p());
    return 0;
}
