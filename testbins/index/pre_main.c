/* Needs libpredep.so then libprelater.so; with -DEXE_DEF it defines ip()
 * and ipvar itself (exported: the libraries reference them). Prints which
 * definitions the program's and the libraries' references bound to; then
 * writes ipvar[0] += 1000 and has the libraries read it back (all use one
 * object: the winner, or the executable's copy of it). */
#include "link/say.h"

const char *ip(void);
extern int ipvar[2];
const char *dep_calls_ip(void);
const char *later_calls_ip(void);
int dep_reads_ipvar(void);
int later_reads_ipvar(void);

#ifdef EXE_DEF
const char *ip(void) { return "ip from exe"; }
int ipvar[2] = {9, 9};
#endif

int main(void) {
    say_ks("exe ip", ip());
    const char *(*volatile p)(void) = ip;
    say_ks("exe via pointer", p());
    say_ks("dep_calls_ip", dep_calls_ip());
    say_ks("later_calls_ip", later_calls_ip());
    say_kv("exe ipvar", ipvar[0]);
    ipvar[0] += 1000;
    say_kv("dep_reads_ipvar", dep_reads_ipvar());
    say_kv("later_reads_ipvar", later_reads_ipvar());
    return 0;
}
