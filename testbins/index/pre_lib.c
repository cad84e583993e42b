/* libpreload.so (TAG=pre, LD_PRELOAD'ed), libpredep.so (TAG=dep, NEEDed by
 * the program) and libprelater.so (TAG=later, NEEDed after libpredep.so,
 * so later in the scope): each defines ip() and ipvar and uses them through
 * the PLT/GOT. VAL is ipvar's value. */
#include "index/index.h"

const char *ip(void) { return "ip from lib" IX_STR(TAG); }
int ipvar[2] = {VAL, VAL};

const char *IX_CAT(TAG, _calls_ip)(void) { return ip(); }
int IX_CAT(TAG, _reads_ipvar)(void) { return ipvar[0]; }
