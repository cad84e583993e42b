/* libapiclosedep.so: the dependency of libapiclose.so (see close.c). */
#include "api/libsys.h"

int closedep_value(void) { return 41; }

__attribute__((constructor)) static void closedep_init(void) { lib_say("apiclosedep: init\n"); }
__attribute__((destructor)) static void closedep_fini(void) { lib_say("apiclosedep: fini\n"); }
