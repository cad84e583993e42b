/*
 * Libraries whose dlopen fails (tests/api.rs, "fail"):
 *   libapibad.so   (-DBAD_MISSING_DEP) NEEDs libapimissing.so, which the
 *                  test deletes after linking;
 *   libapiundef.so (-DBAD_UNDEF) NEEDs libapiundefdep.so (present) and
 *                  calls api_no_such_symbol, which nothing defines.
 * Neither constructor may run.
 */
#include "api/libsys.h"

#ifdef BAD_MISSING_DEP
extern int missing_value(void);
int bad_value(void) { return missing_value(); }
__attribute__((constructor)) static void bad_init(void) { lib_say("apibad: init (WRONG)\n"); }
#endif

#ifdef BAD_UNDEF
extern int api_no_such_symbol(void);
extern int undefdep_value(void);
int undef_value(void) { return api_no_such_symbol() + undefdep_value(); }
__attribute__((constructor)) static void undef_init(void) { lib_say("apiundef: init (WRONG)\n"); }
#endif

#ifdef BAD_MISSING_LIB
int missing_value(void) { return 1; }
#endif

#ifdef BAD_UNDEFDEP
int undefdep_value(void) { return 2; }
__attribute__((constructor)) static void undefdep_init(void) { lib_say("apiundefdep: init\n"); }
#endif
