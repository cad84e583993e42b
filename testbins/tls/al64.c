/* libtal64.so: a TLS block with 64-byte alignment (PT_TLS p_align = 64),
 * general-dynamic access (default -fPIC model). */
#include "tls/tls.h"

/* 64 characters, no terminating NUL (it does not fit: C allows that). */
__thread char al64_x[64] __attribute__((aligned(64))) =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
__thread long al64_y;

__attribute__((noinline)) char *al64_x_addr(void) { return al64_x; }
__attribute__((noinline)) long al64_y_get(void) { return al64_y; }
