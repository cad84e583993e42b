/* Raw threads: see thread.h. */
#include "rt/thread.h"

#define SYS_sched_yield 24
#define SYS_futex 202
#define FUTEX_WAIT 0

/* raw_clone(flags=%rdi, stack=%rsi, ptid=%rdx, ctid=%rcx, tls=%r8, fn=%r9,
 * arg=8(%rsp)). fn and arg go on the child's stack before the syscall; the
 * child pops them, calls fn(arg) with %rsp 16-byte aligned, and exit(2)s
 * (the thread only: exit_group would end the process). */
__asm__(
    ".text\n"
    ".globl raw_clone\n"
    ".type raw_clone, @function\n"
    "raw_clone:\n"
    "    mov 8(%rsp), %rax\n"
    "    and $-16, %rsi\n"
    "    sub $16, %rsi\n"
    "    mov %r9, 0(%rsi)\n"
    "    mov %rax, 8(%rsi)\n"
    "    mov %rcx, %r10\n"
    "    mov $56, %eax\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 1f\n"
    "    xor %ebp, %ebp\n"
    "    pop %rax\n"
    "    pop %rdi\n"
    "    call *%rax\n"
    "    mov %eax, %edi\n"
    "    mov $60, %eax\n"
    "    syscall\n"
    "    hlt\n"
    "1:  ret\n"
    ".size raw_clone, .-raw_clone\n");

#define STACK_SIZE (256 * 1024)

long thread_start(void *tp, int *tid, int (*fn)(void *), void *arg) {
    char *stack = sys_mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (RT_IS_ERR(stack)) return (long)stack;
    /* The stack is left mapped: the thread may still be on it after its
     * tid is cleared, and the test processes are short-lived. */
    return raw_clone(THREAD_FLAGS, stack + STACK_SIZE, tid, tid, tp, fn, arg);
}

int thread_join(int *tid) {
    for (int n = 0; n < 10000; n++) {
        int v = __atomic_load_n(tid, __ATOMIC_SEQ_CST);
        if (v == 0) return 0;
        /* Wakes when the kernel clears *tid at the thread's exit; the 1 ms
         * timeout only bounds the wait. */
        long ts[2] = {0, 1000 * 1000};
        rt_syscall6(SYS_futex, (long)tid, FUTEX_WAIT, v, (long)ts, 0, 0);
    }
    return -1;
}

void thread_yield(void) { rt_syscall0(SYS_sched_yield); }
