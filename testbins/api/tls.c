/*
 * libapitls.so: general-dynamic __thread variables in a library loaded by
 * dlopen while threads are running (tests/api.rs, "tls"). NEEDs
 * libapidep.so. Built with -ftls-model=global-dynamic: every access calls
 * __tls_get_addr (the library is linked against the guardld binary, NEEDED
 * ld-guardld.so.1, which provides it).
 *
 *   tls_var   = 0x1234              (.tdata)
 *   tls_zero  = 0                   (.tbss)
 *   tls_ptr   = &tls_target         (.tdata holding an address: a dynamic
 *                                    relocation applies to the TLS image)
 */
#include "api/libsys.h"

__thread long tls_var = 0x1234;
__thread long tls_zero;
long tls_target = 0x5151;
__thread long *tls_ptr = &tls_target;

extern int dep_value(void);

long tls_get(void) { return tls_var; }
void tls_set(long v) { tls_var = v; }
long *tls_addr(void) { return &tls_var; }
long tls_get_zero(void) { return tls_zero; }
void tls_set_zero(long v) { tls_zero = v; }
/* 1 if this thread's tls_ptr holds &tls_target (the relocated image). */
int tls_ptr_ok(void) { return tls_ptr == &tls_target; }
long *tls_ptr_value(void) { return tls_ptr; }
long *tls_target_addr(void) { return &tls_target; }
/* 14: through the dependency. */
int tls_dep(void) { return dep_value() * 2; }

__attribute__((constructor)) static void tls_init(void) { lib_say("apitls: init\n"); }
__attribute__((destructor)) static void tls_fini(void) { lib_say("apitls: fini\n"); }
