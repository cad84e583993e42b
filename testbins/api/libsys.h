/*
 * libsys.h: what the api test libraries need without a libc: a raw write(2)
 * to report from constructors and destructors. Header-only (static inline),
 * so a library needs no runtime and no dynamic relocation for it.
 */
#ifndef GUARDLD_API_LIBSYS_H
#define GUARDLD_API_LIBSYS_H

static inline long lib_syscall3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

/* Write a NUL-terminated string to stdout (fd 1), unbuffered. The
 * executable's rt buffers its own stdout, so it flushes (rt_flush) before
 * any call that may run library code that writes. */
static inline void lib_say(const char *s) {
    unsigned long n = 0;
    while (s[n]) n++;
    lib_syscall3(1, 1, (long)s, (long)n);
}

#endif
