/*
 * say.h: unbuffered output for the link tests' programs AND libraries.
 *
 * Libraries are built without testbins/rt (no libc at all), and the order of
 * lines printed by initializers, main and finalizers matters, so every
 * object writes straight to fd 1 with a raw syscall: no buffer to flush, the
 * output order is the execution order.
 *
 * Everything is static inline: each object gets its own copy and needs no
 * symbol from anyone (build with -fno-tree-loop-distribute-patterns so the
 * loops are not turned into calls to memset/strlen).
 */
#ifndef LINK_SAY_H
#define LINK_SAY_H

#define SAY_UNUSED __attribute__((unused))

static inline SAY_UNUSED long say_write(const char *p, unsigned long n) {
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(1L), "D"(1L), "S"(p), "d"(n)
                     : "rcx", "r11", "memory");
    return r;
}

static inline SAY_UNUSED unsigned long say_len(const char *s) {
    unsigned long n = 0;
    while (s[n]) n++;
    return n;
}

/* Append s to buf at *at (bounded). */
static inline SAY_UNUSED void say_cat(char *buf, unsigned long *at, unsigned long cap, const char *s) {
    while (*s && *at < cap) buf[(*at)++] = *s++;
}

static inline SAY_UNUSED void say_cat_dec(char *buf, unsigned long *at, unsigned long cap, long v) {
    char t[24];
    int i = sizeof t;
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
    t[--i] = 0;
    do {
        t[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) t[--i] = '-';
    say_cat(buf, at, cap, t + i);
}

/* One line: s + '\n', one write. */
static inline SAY_UNUSED void say(const char *s) {
    char b[256];
    unsigned long n = 0;
    say_cat(b, &n, sizeof b - 1, s);
    b[n++] = '\n';
    say_write(b, n);
}

/* One line: "key=value\n" (decimal), one write. */
static inline SAY_UNUSED void say_kv(const char *key, long v) {
    char b[256];
    unsigned long n = 0;
    say_cat(b, &n, sizeof b - 32, key);
    say_cat(b, &n, sizeof b - 1, "=");
    say_cat_dec(b, &n, sizeof b - 1, v);
    b[n++] = '\n';
    say_write(b, n);
}

/* One line: "key=string\n". */
static inline SAY_UNUSED void say_ks(const char *key, const char *s) {
    char b[256];
    unsigned long n = 0;
    say_cat(b, &n, sizeof b - 1, key);
    say_cat(b, &n, sizeof b - 1, "=");
    say_cat(b, &n, sizeof b - 1, s ? s : "(null)");
    b[n++] = '\n';
    say_write(b, n);
}

#endif
