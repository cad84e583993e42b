/* libpv1.so (TAG=pv1) and libpv2.so (TAG=pv2): pv_fn and pv_var with
 * default visibility, used by the library itself through the PLT/GOT
 * (dynamic relocations against its own symbols). The test then rewrites
 * libpv1.so's .dynsym entries of pv_fn and pv_var to STV_HIDDEN or
 * STV_PROTECTED, as a linker would not: glibc binds such an object's own
 * references to its own definitions (hidden: RESOLVE_MAP treats the
 * symbol as local; protected: _dl_lookup_symbol_x's protected rule), and
 * never lets another object bind to a hidden one. */
#include "index/index.h"

const char *pv_fn(void) { return "pv_fn from lib" IX_STR(TAG); }
int pv_var[2] = {VAL, VAL};
const char *IX_CAT(TAG, _calls)(void) { return pv_fn(); }
const char *IX_CAT(TAG, _via_ptr)(void) {
    const char *(*volatile p)(void) = pv_fn;
    return p();
}
int IX_CAT(TAG, _reads_var)(void) { return pv_var[0]; }
