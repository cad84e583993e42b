/* rt: see rt.h. Freestanding: no libc, no dynamic relocations. */
#include "rt.h"
#include "pagemap.h"

int rt_argc;
char **rt_argv;
char **rt_envp;
unsigned long *rt_auxv;
unsigned long rt_entry_sp;
int rt_entry_sp_aligned;
void (*rt_fini)(void);

/* The loader jumps here with %rsp at argc and %rdx = finalizer or 0.
 * Keep both, align the stack (it should already be aligned: recorded, not
 * assumed) and call __rt_start(sp, fini). */
__asm__(
    ".text\n"
    ".globl _start\n"
    ".type _start, @function\n"
    "_start:\n"
    "    .cfi_startproc\n"
    "    .cfi_undefined rip\n"
    "    xor %ebp, %ebp\n"
    "    mov %rsp, %rdi\n"
    "    mov %rdx, %rsi\n"
    "    and $-16, %rsp\n"
    "    call __rt_start\n"
    "    hlt\n"
    "    .cfi_endproc\n"
    ".size _start, .-_start\n");

__attribute__((noreturn, used)) void __rt_start(long *sp, void (*fini)(void));

/* ---------------- system calls ---------------- */

long rt_syscall0(long n) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n) : "rcx", "r11", "memory");
    return r;
}
long rt_syscall1(long n, long a) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a) : "rcx", "r11", "memory");
    return r;
}
long rt_syscall2(long n, long a, long b) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return r;
}
long rt_syscall3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
long rt_syscall4(long n, long a, long b, long c, long d) {
    long r;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return r;
}
long rt_syscall5(long n, long a, long b, long c, long d, long e) {
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return r;
}
long rt_syscall6(long n, long a, long b, long c, long d, long e, long f) {
    long r;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_pread64 17
#define SYS_mmap 9
#define SYS_mprotect 10
#define SYS_munmap 11
#define SYS_rt_sigaction 13
#define SYS_madvise 28
#define SYS_nanosleep 35
#define SYS_getpid 39
#define SYS_fork 57
#define SYS_wait4 61
#define SYS_kill 62
#define SYS_exit_group 231
#define SYS_getrandom 318

ssize_t sys_read(int fd, void *buf, size_t n) { return rt_syscall3(SYS_read, fd, (long)buf, (long)n); }
ssize_t sys_write(int fd, const void *buf, size_t n) { return rt_syscall3(SYS_write, fd, (long)buf, (long)n); }
int sys_open(const char *path, int flags, int mode) { return (int)rt_syscall3(SYS_open, (long)path, flags, mode); }
int sys_close(int fd) { return (int)rt_syscall1(SYS_close, fd); }
void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off) {
    return (void *)rt_syscall6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
}
int sys_munmap(void *addr, size_t len) { return (int)rt_syscall2(SYS_munmap, (long)addr, (long)len); }
int sys_mprotect(void *addr, size_t len, int prot) { return (int)rt_syscall3(SYS_mprotect, (long)addr, (long)len, prot); }
int sys_madvise(void *addr, size_t len, int advice) { return (int)rt_syscall3(SYS_madvise, (long)addr, (long)len, advice); }
int sys_getpid(void) { return (int)rt_syscall0(SYS_getpid); }
int sys_nanosleep(long sec, long nsec) {
    long ts[2] = {sec, nsec};
    return (int)rt_syscall2(SYS_nanosleep, (long)ts, 0);
}
int sys_fork(void) { return (int)rt_syscall0(SYS_fork); }
int sys_wait4(int pid, int *status, int options, void *rusage) {
    return (int)rt_syscall4(SYS_wait4, pid, (long)status, options, (long)rusage);
}
int sys_kill(int pid, int sig) { return (int)rt_syscall2(SYS_kill, pid, sig); }
int sys_rt_sigaction(int sig, const void *act, void *oldact, size_t sigsetsize) {
    return (int)rt_syscall4(SYS_rt_sigaction, sig, (long)act, (long)oldact, (long)sigsetsize);
}
ssize_t sys_getrandom(void *buf, size_t n, unsigned flags) {
    return rt_syscall3(SYS_getrandom, (long)buf, (long)n, flags);
}
void sys_exit_group(int status) {
    for (;;) rt_syscall1(SYS_exit_group, status);
}

/* ---------------- strings ----------------
 * gcc -O2 turns copy/fill loops into calls to memcpy/memset, which here would
 * recurse: keep loop-pattern distribution off in this file's mem* bodies. */
#define NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))

NO_LIBCALLS size_t rt_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}
NO_LIBCALLS int rt_strcmp(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}
NO_LIBCALLS int rt_strncmp(const char *a, const char *b, size_t n) {
    for (; n; n--, a++, b++) {
        if (*a != *b) return (unsigned char)*a - (unsigned char)*b;
        if (!*a) return 0;
    }
    return 0;
}
int rt_streq(const char *a, const char *b) { return rt_strcmp(a, b) == 0; }
const char *rt_strprefix(const char *s, const char *prefix) {
    while (*prefix)
        if (*s++ != *prefix++) return NULL;
    return s;
}
NO_LIBCALLS void *memcpy(void *d, const void *s, size_t n) {
    u8 *dp = d;
    const u8 *sp = s;
    while (n--) *dp++ = *sp++;
    return d;
}
NO_LIBCALLS void *memmove(void *d, const void *s, size_t n) {
    u8 *dp = d;
    const u8 *sp = s;
    if (dp < sp)
        while (n--) *dp++ = *sp++;
    else
        while (n--) dp[n] = sp[n];
    return d;
}
NO_LIBCALLS void *memset(void *d, int c, size_t n) {
    u8 *dp = d;
    while (n--) *dp++ = (u8)c;
    return d;
}
NO_LIBCALLS int memcmp(const void *a, const void *b, size_t n) {
    const u8 *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x - *y;
    return 0;
}

/* ---------------- environment and auxv ---------------- */

char *rt_getenv(const char *name) {
    if (!rt_envp) return NULL;
    for (char **e = rt_envp; *e; e++) {
        const char *v = rt_strprefix(*e, name);
        if (v && *v == '=') return (char *)v + 1;
    }
    return NULL;
}

int rt_getauxval2(unsigned long type, unsigned long *out) {
    if (!rt_auxv) return 0;
    for (unsigned long *a = rt_auxv; a[0] != AT_NULL; a += 2)
        if (a[0] == type) {
            *out = a[1];
            return 1;
        }
    return 0;
}

unsigned long rt_getauxval(unsigned long type) {
    unsigned long v = 0;
    return rt_getauxval2(type, &v) ? v : 0;
}

/* ---------------- pagemap ---------------- */

static long rt_pread(int fd, void *buf, unsigned long n, unsigned long off) {
    return rt_syscall4(SYS_pread64, fd, (long)buf, (long)n, (long)off);
}

long rt_pagemap_guarded(unsigned long start, unsigned long len) {
    unsigned long page = rt_getauxval(AT_PAGESZ);
    if (page == 0 || (page & (page - 1)) != 0) return -1;
    int fd = sys_open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return -1;
    long n = pagemap_count_guarded(rt_pread, fd, start, len, page);
    sys_close(fd);
    return n;
}

/* ---------------- buffered stdout ---------------- */

static char out_buf[4096];
static size_t out_len;

static void write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t r = sys_write(fd, p, n);
        if (r == -4) continue; /* EINTR */
        if (r <= 0) return;    /* nowhere to report it */
        p += r;
        n -= (size_t)r;
    }
}

void rt_flush(void) {
    write_all(1, out_buf, out_len);
    out_len = 0;
}

void print_bytes(const void *p, size_t n) {
    const char *s = p;
    while (n) {
        if (out_len == sizeof out_buf) rt_flush();
        size_t k = sizeof out_buf - out_len;
        if (k > n) k = n;
        memcpy(out_buf + out_len, s, k);
        out_len += k;
        s += k;
        n -= k;
    }
}

void print_char(char c) { print_bytes(&c, 1); }

void print_str(const char *s) {
    if (!s) s = "(null)";
    print_bytes(s, rt_strlen(s));
}

void print_hex(unsigned long v) {
    char b[18];
    int i = sizeof b;
    do {
        b[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    b[--i] = 'x';
    b[--i] = '0';
    print_bytes(b + i, sizeof b - i);
}

void print_udec(unsigned long v) {
    char b[20];
    int i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    print_bytes(b + i, sizeof b - i);
}

void print_dec(long v) {
    if (v < 0) {
        print_char('-');
        print_udec(-(unsigned long)v);
    } else {
        print_udec((unsigned long)v);
    }
}

void print_line(const char *s) {
    print_str(s);
    print_char('\n');
}

void print_kv_str(const char *key, const char *val) {
    print_str(key);
    print_char('=');
    print_line(val);
}

void print_kv_dec(const char *key, long val) {
    print_str(key);
    print_char('=');
    print_dec(val);
    print_char('\n');
}

void print_kv_hex(const char *key, unsigned long val) {
    print_str(key);
    print_char('=');
    print_hex(val);
    print_char('\n');
}

void eprint_str(const char *s) { write_all(2, s, rt_strlen(s)); }

void rt_exit(int status) {
    rt_flush();
    sys_exit_group(status);
}

void rt_fail(const char *msg) {
    rt_flush();
    eprint_str("rt: FAIL: ");
    eprint_str(msg);
    eprint_str("\n");
    sys_exit_group(99);
}

/* ---------------- start ---------------- */

static void pause_for_tools(void) {
    char num[24];
    int i = sizeof num;
    unsigned long pid = (unsigned long)sys_getpid();
    num[--i] = 0;
    do {
        num[--i] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid);
    eprint_str("rt: paused, pid ");
    eprint_str(num + i);
    eprint_str("\n");
    for (int n = 0; n < 300; n++) sys_nanosleep(0, 100 * 1000 * 1000);
}

void __rt_start(long *sp, void (*fini)(void)) {
    rt_entry_sp = (unsigned long)sp;
    rt_entry_sp_aligned = ((unsigned long)sp & 15) == 0;
    rt_fini = fini;
    rt_argc = (int)sp[0];
    rt_argv = (char **)(sp + 1);
    rt_envp = rt_argv + rt_argc + 1;
    char **e = rt_envp;
    while (*e) e++;
    rt_auxv = (unsigned long *)(e + 1);

    int ret = main(rt_argc, rt_argv, rt_envp);

    const char *pause = rt_getenv("GUARDLD_TEST_PAUSE");
    if (pause && rt_streq(pause, "1")) {
        rt_flush();
        pause_for_tools();
    }
    if (fini && !rt_getenv("GUARDLD_TEST_SKIP_FINI")) {
        /* Flush first: if the finalizer crashes, the output so far is kept. */
        rt_flush();
        fini();
    }
    rt_exit(ret);
}
