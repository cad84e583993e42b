/* A PIE with its own DT_RELR table, using librelr.so (also RELR). */
#include "say.h"
long relr_check(void);
extern int *ptrs[70];

static int mine[40];
#define Q1(i) &mine[i]
#define Q4(i) Q1(i), Q1(i + 1), Q1(i + 2), Q1(i + 3)
int *my_ptrs[40] = {Q4(0), Q4(4), Q4(8), Q4(12), Q4(16), Q4(20), Q4(24), Q4(28), Q4(32), Q4(36)};
const char *my_names[] = {"alpha", "beta", "gamma"};

int main(void) {
    long bad = 0;
    for (int i = 0; i < 40; i++) mine[i] = 3 * i;
    for (int i = 0; i < 40; i++) bad += *my_ptrs[i] != 3 * i;
    say_kv("exe bad", bad);
    say_ks("exe my_names[2]", my_names[2]);
    say_kv("lib bad", relr_check());
    say_kv("lib *ptrs[10]", *ptrs[10]);
    return 0;
}
