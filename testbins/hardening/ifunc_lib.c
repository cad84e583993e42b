/* libhvifunc.so: an IFUNC whose resolver prints (unbuffered), and a call
 * to a function no object defines (-DMISSING: the library then cannot be
 * linked and nothing of it may run, its resolver included). hv_ifunc()
 * returns 7 through the IFUNC. */
#include "link/say.h"

#ifdef MISSING
extern int hv_missing_fn(void);
#endif

static int seven(void) { return 7; }

static int (*resolve_hv_pick(void))(void) {
    say("resolver ran");
    return seven;
}

static int hv_pick(void) __attribute__((ifunc("resolve_hv_pick")));

int hv_ifunc(void) {
#ifdef MISSING
    return hv_pick() + hv_missing_fn() * 0;
#else
    return hv_pick();
#endif
}
