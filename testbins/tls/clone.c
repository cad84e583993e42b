/* %fs helpers for the TLS tests (the raw threads are testbins/rt/thread.c).
 * See tls.h. */
#include "tls/tls.h"

#define SYS_arch_prctl 158
#define ARCH_GET_FS 0x1003

/* mov %fs:(off), %rax: a word of the calling thread's TCB. */
__asm__(
    ".text\n"
    ".globl fs_word\n"
    ".type fs_word, @function\n"
    "fs_word:\n"
    "    mov %fs:(%rdi), %rax\n"
    "    ret\n"
    ".size fs_word, .-fs_word\n");

unsigned long fs_base(void) {
    unsigned long b = 0;
    long r = rt_syscall2(SYS_arch_prctl, ARCH_GET_FS, (long)&b);
    return r == 0 ? b : 0;
}

