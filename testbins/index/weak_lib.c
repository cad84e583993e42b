/* libwa.so / libwb.so: wf() and wvar defined in two libraries, weakly with
 * -DWEAK, strongly without. TAG (wa, wb) names the library, VAL is wvar's
 * value. The library's own uses go through the PLT/GOT (default
 * visibility, no -Bsymbolic), so they bind to the scope's winner too. */
#include "index/index.h"

#ifdef WEAK
#define DEF __attribute__((weak))
#define KIND "weak"
#else
#define DEF
#define KIND "strong"
#endif

DEF const char *wf(void) { return KIND " wf in lib" IX_STR(TAG); }
DEF int wvar[2] = {VAL, VAL};

const char *IX_CAT(TAG, _calls_wf)(void) { return wf(); }
int IX_CAT(TAG, _reads_wvar)(void) { return wvar[0]; }
