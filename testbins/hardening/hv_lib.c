/* libhv.so: the victim of tests/hardening.rs. It NEEDs libhvdep.so
 * (dep_fn@HVDEP_1: DT_VERNEED), defines its symbols at version HV_1
 * (hv_lib.map: DT_VERDEF), has a GOT reference to its own data (GLOB_DAT),
 * a pointer in RELRO (hv_relro_ptr, .data.rel.ro: R_X86_64_RELATIVE), and
 * a constructor that prints: any output from a broken copy means guardld
 * ran code of an object it should have refused.
 *
 * -DEVIL: the impostor found through LD_LIBRARY_PATH by the AT_SECURE test
 * (hv_fn returns 666). */
#include "link/say.h"

extern int dep_fn(void);
static int target = 7;
int *const hv_relro_ptr = &target;
int hv_data = 5;

__attribute__((constructor)) static void hv_init(void) {
#ifdef EVIL
    say("libhv init (EVIL copy)");
#else
    say("libhv init");
#endif
}

/* 30 + 5 + 7 = 42 */
int hv_fn(void) {
#ifdef EVIL
    return 666;
#else
    return dep_fn() + hv_data + *hv_relro_ptr;
#endif
}

/* The address of a RELRO variable, for the program to write to. */
int *const *hv_relro_addr(void) { return &hv_relro_ptr; }
