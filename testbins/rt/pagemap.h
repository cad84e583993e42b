/* The one reader of /proc/self/pagemap bit 58 (PM_GUARD_REGION) for the C
 * test programs, libc-less (rt.c's rt_pagemap_guarded) and glibc-linked
 * (audit/inspect.h) alike: each passes its own pread.
 *
 * Pages of [start, start+len) whose entry has bit 58 set, read from the
 * open pagemap `fd` up to 64 entries per read; -1 if a read fails. */
#ifndef RT_PAGEMAP_H
#define RT_PAGEMAP_H

#define PM_GUARD_REGION_BIT 58

typedef long (*pagemap_pread_fn)(int fd, void *buf, unsigned long n, unsigned long off);

static long pagemap_count_guarded(pagemap_pread_fn pread_fn, int fd, unsigned long start, unsigned long len, unsigned long page) {
    long n = 0;
    if (len == 0) return 0;
    unsigned long last_addr = start + len - 1;
    if (last_addr < start) last_addr = ~0UL; /* the range wraps: clamp */
    unsigned long idx = start / page, last = last_addr / page;
    unsigned long e[64];
    for (;;) {
        unsigned long want = last - idx + 1;
        if (want > sizeof e / sizeof e[0]) want = sizeof e / sizeof e[0];
        long r = pread_fn(fd, e, want * sizeof e[0], idx * sizeof e[0]);
        if (r <= 0 || r % (long)sizeof e[0] != 0) return -1;
        unsigned long got = (unsigned long)r / sizeof e[0];
        for (unsigned long i = 0; i < got; i++) n += (long)((e[i] >> PM_GUARD_REGION_BIT) & 1);
        if (last - idx < got) break; /* idx + got > last, without overflow */
        idx += got;
    }
    return n;
}
#endif
