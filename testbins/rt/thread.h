/*
 * Raw threads for libc-less test programs: clone(2) with CLONE_SETTLS on a
 * thread pointer from guardld_tls_alloc(), a futex join. Shared by the api
 * and tls test programs (build with testbins/rt/thread.c).
 */
#ifndef GUARDLD_RT_THREAD_H
#define GUARDLD_RT_THREAD_H

#include "rt/rt.h"

#define CLONE_VM 0x00000100
#define CLONE_FS 0x00000200
#define CLONE_FILES 0x00000400
#define CLONE_SIGHAND 0x00000800
#define CLONE_THREAD 0x00010000
#define CLONE_SYSVSEM 0x00040000
#define CLONE_SETTLS 0x00080000
#define CLONE_PARENT_SETTID 0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define THREAD_FLAGS                                                        \
    (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |     \
     CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

/* clone(flags, stack_top, ptid, ctid, tls); the child calls fn(arg) on the
 * new stack and exits the thread with its return value. Returns the child's
 * tid or -errno in the parent. */
long raw_clone(unsigned long flags, void *stack_top, int *ptid, int *ctid, void *tls,
               int (*fn)(void *), void *arg);
/* Start a thread with THREAD_FLAGS, a fresh 256 KiB stack and `tp` as its
 * thread pointer; it runs fn(arg) and exits (the thread only). *tid is set
 * before return and cleared (futex-woken) when the thread exits. Returns
 * the tid or -errno. */
long thread_start(void *tp, int *tid, int (*fn)(void *), void *arg);
/* Wait until *tid is 0 (CLONE_CHILD_CLEARTID), at most ~10 s; 0 or -1. */
int thread_join(int *tid);
void thread_yield(void);

#endif
