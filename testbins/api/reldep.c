/*
 * tests/api.rs, "reldep": built twice. -DRELDEP_B: libapireldep_b.so,
 * which defines rd_fb; -DRELDEP_USER: libapireldep_user.so, which binds to
 * rd_fb by relocation without needing libapireldep_b.so (the program
 * dlopens that one RTLD_GLOBAL first). Both report their constructors and
 * destructors.
 */
#include "api/libsys.h"

#ifdef RELDEP_B
int rd_fb(int x) { return 3 * x + 1; }
__attribute__((constructor)) static void b_init(void) { lib_say("apireldep_b: init\n"); }
__attribute__((destructor)) static void b_fini(void) { lib_say("apireldep_b: fini\n"); }
#endif

#ifdef RELDEP_USER
extern int rd_fb(int);
int rd_use(int x) { return rd_fb(x) + 100; }
__attribute__((constructor)) static void user_init(void) { lib_say("apireldep_user: init\n"); }
__attribute__((destructor)) static void user_fini(void) { lib_say("apireldep_user: fini\n"); }
#endif
