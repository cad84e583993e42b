/*
 * rt: a tiny freestanding runtime for guardld's libc-less test programs.
 *
 * Build: gcc -nostdlib -ffreestanding -fno-stack-protector -fno-builtin -O2
 *        PROGRAM.c rt/rt.c
 *
 * rt.c provides `_start`, which calls
 *     int main(int argc, char **argv, char **envp);
 * then (unless GUARDLD_TEST_SKIP_FINI is set) the loader's %rdx finalizer,
 * flushes stdout and exits with main's return value.
 *
 * Environment understood by the runtime:
 *   GUARDLD_TEST_SKIP_FINI  (any value) do not call the %rdx finalizer.
 *                           glibc's ld.so asserts in _dl_fini when a
 *                           libc-less program calls it, so comparisons with
 *                           glibc set this.
 *   GUARDLD_TEST_PAUSE=1    sleep (up to 30 s) after main returns, so tools
 *                           can inspect the live process.
 *
 * The runtime itself needs no dynamic relocations: no initialised pointers in
 * data, everything reached PC-relatively.
 */
#ifndef GUARDLD_TEST_RT_H
#define GUARDLD_TEST_RT_H

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long u64;
typedef unsigned long uintptr_t;

#define NULL ((void *)0)

/* ---- process state set up by __rt_start ---- */
extern int rt_argc;
extern char **rt_argv;
extern char **rt_envp;
extern unsigned long *rt_auxv;          /* first auxv entry (pairs, AT_NULL-terminated) */
extern unsigned long rt_entry_sp;       /* %rsp as the loader handed it to _start */
extern int rt_entry_sp_aligned;         /* rt_entry_sp % 16 == 0 */
extern void (*rt_fini)(void);           /* %rdx at entry (may be 0) */

/* ---- auxv ---- */
#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_PLATFORM 15
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_HWCAP2 26
#define AT_EXECFN 31
#define AT_SYSINFO_EHDR 33

/* Value of auxv entry `type`, 0 if absent. */
unsigned long rt_getauxval(unsigned long type);
/* 1 and *out set if present, else 0. */
int rt_getauxval2(unsigned long type, unsigned long *out);
/* Value of environment variable `name`, NULL if unset. */
char *rt_getenv(const char *name);

/* ---- /proc/self/pagemap ---- */
/* How many pages of [start, start+len) (every page the range touches) have
 * pagemap bit 58, PM_GUARD_REGION, set in the calling process's own
 * /proc/self/pagemap (opened afresh on each call, so a forked child sees
 * its own). The page size is the auxiliary vector's AT_PAGESZ. 0 for an
 * empty range; -1 if AT_PAGESZ is missing or pagemap cannot be read. */
long rt_pagemap_guarded(unsigned long start, unsigned long len);

/* ---- raw system calls ---- */
long rt_syscall0(long n);
long rt_syscall1(long n, long a);
long rt_syscall2(long n, long a, long b);
long rt_syscall3(long n, long a, long b, long c);
long rt_syscall4(long n, long a, long b, long c, long d);
long rt_syscall5(long n, long a, long b, long c, long d, long e);
long rt_syscall6(long n, long a, long b, long c, long d, long e, long f);

/* Wrappers return the kernel's value: -errno on failure. */
ssize_t sys_read(int fd, void *buf, size_t n);
ssize_t sys_write(int fd, const void *buf, size_t n);
int sys_open(const char *path, int flags, int mode);
int sys_close(int fd);
void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int sys_munmap(void *addr, size_t len);
int sys_mprotect(void *addr, size_t len, int prot);
int sys_madvise(void *addr, size_t len, int advice);
int sys_getpid(void);
int sys_nanosleep(long sec, long nsec);
int sys_fork(void);
int sys_wait4(int pid, int *status, int options, void *rusage);
int sys_kill(int pid, int sig);
int sys_rt_sigaction(int sig, const void *act, void *oldact, size_t sigsetsize);
ssize_t sys_getrandom(void *buf, size_t n, unsigned flags);
__attribute__((noreturn)) void sys_exit_group(int status);

/* mmap/open constants */
#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FAILED ((void *)-1)
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_CLOEXEC 02000000
/* Syscall returned an error (-4095..-1)? */
#define RT_IS_ERR(x) ((unsigned long)(long)(x) > -4096UL)

/* ---- strings (also provide the mem* symbols gcc may emit calls to) ---- */
size_t rt_strlen(const char *s);
int rt_strcmp(const char *a, const char *b);
int rt_strncmp(const char *a, const char *b, size_t n);
int rt_streq(const char *a, const char *b);
/* If `s` starts with `prefix`, the rest of s, else NULL. */
const char *rt_strprefix(const char *s, const char *prefix);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* ---- buffered stdout (flushed at exit and by rt_flush) ---- */
void print_char(char c);
void print_bytes(const void *p, size_t n);
void print_str(const char *s);       /* "(null)" for NULL */
void print_hex(unsigned long v);     /* 0x-prefixed, lowercase */
void print_dec(long v);
void print_udec(unsigned long v);
void print_line(const char *s);      /* s + '\n' */
/* key=value lines */
void print_kv_str(const char *key, const char *val);
void print_kv_dec(const char *key, long val);
void print_kv_hex(const char *key, unsigned long val);
void rt_flush(void);
/* Unbuffered, to stderr. */
void eprint_str(const char *s);

/* Flush stdout and exit_group(status), skipping the finalizer. */
__attribute__((noreturn)) void rt_exit(int status);
/* Print "rt: FAIL: msg" on stderr and exit 99. */
__attribute__((noreturn)) void rt_fail(const char *msg);

int main(int argc, char **argv, char **envp);

#endif
