/*
 * libapiclose.so: NEEDs libapiclosedep.so; both report their constructors
 * and destructors (tests/api.rs, "close"). The destructors run at dlclose,
 * the library's before its dependency's (reverse of initialisation), and
 * DT_FINI_ARRAY and DT_FINI both run.
 */
#include "api/libsys.h"

extern int closedep_value(void);
int close_value(void) { return closedep_value() + 1; }

__attribute__((constructor)) static void close_init(void) { lib_say("apiclose: init\n"); }
__attribute__((destructor)) static void close_fini(void) { lib_say("apiclose: fini_array\n"); }
/* DT_FINI (-Wl,-fini,close_dt_fini) */
void close_dt_fini(void) { lib_say("apiclose: dt_fini\n"); }
