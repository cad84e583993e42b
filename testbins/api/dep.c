/*
 * libapidep.so: the dependency of libapitls.so (tests/api.rs). Never NEEDed
 * by the executable: it arrives only through dlopen of libapitls.so.
 */
#include "api/libsys.h"

int dep_counter = 100;

/* 7: a constant the test expects through libapitls's tls_dep (7 * 2). */
int dep_value(void) { return 7; }

/* dladdr's target: a named function with a size, in a library. */
int dep_add(int a, int b) { return a + b + dep_counter - 100; }

__attribute__((constructor)) static void dep_init(void) { lib_say("apidep: init\n"); }
__attribute__((destructor)) static void dep_fini(void) { lib_say("apidep: fini\n"); }
