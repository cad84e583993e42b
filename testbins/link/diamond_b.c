/* libdb.so: exe -> B -> C. */
#include "say.h"
int dc(void);
__attribute__((constructor)) static void b_ctor(void) { say("init B"); }
__attribute__((destructor)) static void b_dtor(void) { say("fini B"); }
int db(void) { return dc() + 2; }
