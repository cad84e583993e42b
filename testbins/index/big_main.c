/* Needs libbigearly.so, libbig.so, libbiglate.so, libbig2.so in this order
 * (libbig and libbig2 have more than 4096 exports each). Prints which
 * definition every reference bound to; as a non-PIE bigvar is copied from
 * libbig.so (its first definition after the program). */
#include "link/say.h"

int big_0(void);
int big_7(void);
int big_2500(void);
int big_4000(void);
int big_4999(void);
int big2_1234(void);
const char *early_and_big(void);
const char *big_and_late(void);
const char *big_weak(void);
const char *late_and_big2(void);
const char *big_and_big2(void);
const char *late_only(void);
const char *big2_only(void);
extern int bigvar[2];
const char *early_calls_early_and_big(void);
const char *big_calls_early_and_big(void);
const char *big_calls_big_and_late(void);
const char *big_calls_late_only(void);
const char *big_calls_big2_only(void);
const char *late_calls_big_and_late(void);
const char *late_calls_big_weak(void);
int late_reads_bigvar(void);
int big_reads_bigvar(void);
const char *big2_calls_late_and_big2(void);
const char *big2_calls_big_and_big2(void);

int main(void) {
    say_kv("big_0", big_0());
    say_kv("big_7", big_7());
    say_kv("big_2500", big_2500());
    say_kv("big_4000", big_4000());
    say_kv("big_4999", big_4999());
    say_kv("big2_1234", big2_1234());
    int (*volatile p)(void) = big_4000;
    say_kv("big_4000 via pointer", p());
    say_ks("early_and_big", early_and_big());
    say_ks("big_and_late", big_and_late());
    say_ks("big_weak", big_weak());
    say_ks("late_and_big2", late_and_big2());
    say_ks("big_and_big2", big_and_big2());
    say_ks("late_only", late_only());
    say_ks("big2_only", big2_only());
    say_ks("early_calls_early_and_big", early_calls_early_and_big());
    say_ks("big_calls_early_and_big", big_calls_early_and_big());
    say_ks("big_calls_big_and_late", big_calls_big_and_late());
    say_ks("big_calls_late_only", big_calls_late_only());
    say_ks("big_calls_big2_only", big_calls_big2_only());
    say_ks("late_calls_big_and_late", late_calls_big_and_late());
    say_ks("late_calls_big_weak", late_calls_big_weak());
    say_ks("big2_calls_late_and_big2", big2_calls_late_and_big2());
    say_ks("big2_calls_big_and_big2", big2_calls_big_and_big2());
    say_kv("exe bigvar", bigvar[0]);
    bigvar[0] += 100;
    say_kv("big_reads_bigvar", big_reads_bigvar());
    say_kv("late_reads_bigvar", late_reads_bigvar());
    return 0;
}
