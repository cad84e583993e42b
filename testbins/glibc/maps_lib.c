/* libglibcmapsN.so (built with -DN=1..3, -DM=N-1): text, read-only data, a
 * RELRO table of pointers, data and bss, so that linked by lld with 64 KiB
 * max-page-size it has four PT_LOADs and three gaps of padding. Each calls
 * libc and the previous library. */
#include <stdio.h>
#include <string.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN CAT(maps_fn, N)
#define PREV CAT(maps_fn, M)

static const char *const words[] = {"zero", "one", "two", "three"}; /* RELRO */
static char scratch[16384];                                         /* bss */
int CAT(maps_data, N) = N;                                          /* data */

#if N > 1
int PREV(int);
#endif

int FN(int x) {
    snprintf(scratch, sizeof scratch, "%s-%d", words[x & 3], CAT(maps_data, N));
    int r = (int)strlen(scratch) + N;
#if N > 1
    r += PREV(x);
#endif
    return r;
}
