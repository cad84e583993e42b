/*
 * noguard: run a command where MADV_GUARD_INSTALL is unavailable.
 *
 *   noguard PROGRAM [ARGS...]
 *
 * Installs a seccomp BPF filter that makes MADV_GUARD_INSTALL (102) fail
 * with EINVAL, as on a kernel without guard regions, through both ways of
 * asking: madvise(addr, len, 102) (advice in args[2]) and
 * process_madvise(pidfd, iov, n, 102, flags) (advice in args[3]); every
 * other system call is allowed. Then it execve()s PROGRAM with the same
 * environment. The filter is inherited across execve, so the loader
 * PROGRAM starts sees a kernel that refuses guards.
 *
 * Unlike the other test programs this one is built with glibc (plain gcc):
 * it only sets up the filter and execs. Exit 126 if the filter cannot be
 * installed, 127 if execve fails.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MADV_GUARD_INSTALL 102
#define SYS_PROCESS_MADVISE 440 /* x86_64 */

int main(int argc, char **argv, char **envp) {
    if (argc < 2) {
        fprintf(stderr, "usage: noguard PROGRAM [ARGS...]\n");
        return 126;
    }
    /* Jump offsets count the instructions skipped: ERRNO is the last but
     * one instruction, ALLOW the last. */
    struct sock_filter filter[] = {
        /* Only x86_64 system calls are judged; anything else is killed. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_madvise, 0, 4),
        /* madvise: args[2] == 102 (both halves of the 64-bit argument) */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_GUARD_INSTALL, 0, 8),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 6),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_PROCESS_MADVISE, 0, 5),
        /* process_madvise: args[3] == 102 */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_GUARD_INSTALL, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3]) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EINVAL & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        perror("noguard: prctl(PR_SET_NO_NEW_PRIVS)");
        return 126;
    }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        perror("noguard: seccomp(SECCOMP_SET_MODE_FILTER)");
        return 126;
    }
    execve(argv[1], argv + 1, envp);
    fprintf(stderr, "noguard: execve %s: %s\n", argv[1], strerror(errno));
    return 127;
}
