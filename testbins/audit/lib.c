/* libauditN.so (built ten times with -DN=1..10): text, read-only data, a
 * RELRO table of pointers, data and bss, so that with 64 KiB alignment it
 * has four PT_LOADs and three gaps. Each calls libc and the previous one. */
#include <stdio.h>
#include <string.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN CAT(audit_fn, N)
#define PREV CAT(audit_fn, M)

static const char *const words[] = {"zero", "one", "two", "three"}; /* RELRO */
static char scratch[16384];                                         /* bss */
int CAT(audit_data, N) = N;                                         /* data */

#if N > 1
int PREV(int);
#endif

int FN(int x) {
    snprintf(scratch, sizeof scratch, "%s-%d", words[x & 3], CAT(audit_data, N));
    int r = (int)strlen(scratch) + N;
#if N > 1
    r += PREV(x);
#endif
    return r;
}
