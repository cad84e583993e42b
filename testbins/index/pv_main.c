/* Needs libpv1.so then libpv2.so; with -DEXE_DEF interposes pv_fn and
 * pv_var (exported with --export-dynamic). Prints what each reference
 * bound to. */
#include "link/say.h"

const char *pv_fn(void);
extern int pv_var[2];
const char *pv1_calls(void);
const char *pv1_via_ptr(void);
int pv1_reads_var(void);
const char *pv2_calls(void);
int pv2_reads_var(void);

#ifdef EXE_DEF
const char *pv_fn(void) { return "pv_fn from exe"; }
int pv_var[2] = {9, 9};
#endif

int main(void) {
    say_ks("exe pv_fn", pv_fn());
    say_kv("exe pv_var", pv_var[0]);
    say_ks("pv1_calls", pv1_calls());
    say_ks("pv1_via_ptr", pv1_via_ptr());
    say_kv("pv1_reads_var", pv1_reads_var());
    say_ks("pv2_calls", pv2_calls());
    say_kv("pv2_reads_var", pv2_reads_var());
    return 0;
}
