/* libdltls_small.so / libdltls_big.so (-DBIG): TLS of a library a
   threaded program dlopens (tests/glibc_threads.rs, threads_main dlopen).
   The small one fits in the static TLS surplus; the big one (8 KiB) does
   not, so its blocks are dynamic TLS, made per thread on first use. */
#include <string.h>

__thread int dl_counter = 7;
__thread char dl_name[32] = "dlopened";
__thread unsigned dl_zero[16];
#ifdef BIG
__thread char dl_big[8192] = {1, 2, 3};
#endif

#ifdef BIG
/* This thread's block of the library's dynamic TLS. */
void *dl_big_addr(void) { return dl_big; }
#endif

int dl_fresh(void) {
    for (int i = 0; i < 16; i++)
        if (dl_zero[i])
            return 0;
#ifdef BIG
    if (dl_big[0] != 1 || dl_big[2] != 3 || dl_big[8191] != 0)
        return 0;
#endif
    return dl_counter == 7 && strcmp(dl_name, "dlopened") == 0;
}

int dl_dirty(int seed) {
    dl_counter += seed;
    dl_name[0] = 'D';
    for (int i = 0; i < 16; i++)
        dl_zero[i] = (unsigned)(seed + i);
#ifdef BIG
    dl_big[0] = (char)seed;
    dl_big[8191] = 9;
#endif
    return dl_counter;
}
