/* Interposes sym_fn, symp_fn, sym_var, symp_var and hook (exported with
 * --export-dynamic) and prints what each reference bound to. */
#include "link/say.h"

const char *sym_fn(void) { return "sym_fn from exe"; }
const char *symp_fn(void) { return "symp_fn from exe"; }
const char *hook(void) { return "hook from exe"; }
int sym_var[2] = {100, 100};
int symp_var[2] = {200, 200};

const char *sym_calls(void);
const char *sym_via_ptr(void);
int sym_reads_var(void);
const char *symp_calls(void);
const char *symp_via_ptr(void);
int symp_reads_var(void);
const char *symp_calls_hook(void);
const char *user_calls_sym(void);
const char *user_calls_symp(void);
int user_reads_symp_var(void);

int main(void) {
    say_ks("exe sym_fn", sym_fn());
    say_ks("sym_calls", sym_calls());
    say_ks("sym_via_ptr", sym_via_ptr());
    say_kv("sym_reads_var", sym_reads_var());
    say_ks("symp_calls", symp_calls());
    say_ks("symp_via_ptr", symp_via_ptr());
    say_kv("symp_reads_var", symp_reads_var());
    say_ks("symp_calls_hook", symp_calls_hook());
    say_ks("user_calls_sym", user_calls_sym());
    say_ks("user_calls_symp", user_calls_symp());
    say_kv("user_reads_symp_var", user_reads_symp_var());
    return 0;
}
