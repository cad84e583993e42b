/* Needs libvis.so, libvisuser.so and (unless -DNO_ALT) libvisalt.so;
 * interposes vis_prot (exported with --export-dynamic). Prints what each
 * reference bound to. Without libvisalt.so nothing defines a vis_hidden
 * another object may use: the program must not start. */
#include "link/say.h"

const char *vis_prot(void) { return "vis_prot from exe"; }

const char *vis_calls_hidden(void);
const char *vis_calls_prot(void);
const char *vis_prot_via_ptr(void);
int vis_reads_prot_var(void);
const char *user_calls_hidden(void);
const char *user_calls_prot(void);
int user_reads_prot_var(void);

int main(void) {
    say_ks("vis_calls_hidden", vis_calls_hidden());
    say_ks("user_calls_hidden", user_calls_hidden());
    say_ks("exe vis_prot", vis_prot());
    say_ks("vis_calls_prot", vis_calls_prot());
    say_ks("vis_prot_via_ptr", vis_prot_via_ptr());
    say_ks("user_calls_prot", user_calls_prot());
    say_kv("vis_reads_prot_var", vis_reads_prot_var());
    say_kv("user_reads_prot_var", user_reads_prot_var());
    return 0;
}
