/* libda.so: exe -> A -> C. */
#include "say.h"
int dc(void);
__attribute__((constructor)) static void a_ctor(void) { say("init A"); }
__attribute__((destructor)) static void a_dtor(void) { say("fini A"); }
int da(void) { return dc() + 1; }
