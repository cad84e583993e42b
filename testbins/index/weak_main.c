/* Links libwa.so and libwb.so (in either order); prints which wf and wvar
 * every reference bound to. As a non-PIE (-fno-pie) wvar is copied
 * (R_X86_64_COPY) from the first definition in scope order, and the
 * libraries then read the executable's copy. */
#include "link/say.h"

const char *wf(void);
extern int wvar[2];
const char *wa_calls_wf(void);
const char *wb_calls_wf(void);
int wa_reads_wvar(void);
int wb_reads_wvar(void);

int main(void) {
    say_ks("exe wf", wf());
    const char *(*volatile p)(void) = wf;
    say_ks("exe via pointer", p());
    say_ks("wa_calls_wf", wa_calls_wf());
    say_ks("wb_calls_wf", wb_calls_wf());
    say_kv("exe wvar", wvar[0]);
    wvar[0] += 100;
    say_kv("wa_reads_wvar", wa_reads_wvar());
    say_kv("wb_reads_wvar", wb_reads_wvar());
    return 0;
}
