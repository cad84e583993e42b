/* A program whose PT_GNU_STACK asks for an executable stack (linked with
   -z execstack), for tests/glibc_threads.rs: glibc then maps thread
   stacks executable (_rtld_global._dl_stack_flags has PF_X), and its
   threads call GCC nested functions through trampolines written on their
   stacks. Prints each thread's result and its stack's permissions. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "glibc-threads/perms.h"


static int apply(int (*f)(int), int n) {
    int r = 0;
    for (int i = 0; i < n; i++)
        r = f(i);
    return r;
}

struct job {
    int base, result;
    char perms[5];
};

static void *worker(void *p) {
    struct job *j = p;
    int acc = j->base;
    /* Taking the address of a nested function that uses `acc` makes a
       trampoline on this thread's stack. */
    int add(int x) {
        acc += x * j->base;
        return acc;
    }
    j->result = apply(add, 10);
    perms_of(&acc, j->perms);
    return NULL;
}

int main(void) {
    enum { N = 4 };
    pthread_t t[N];
    struct job j[N];
    for (int i = 0; i < N; i++) {
        j[i] = (struct job){.base = i + 1};
        if (pthread_create(&t[i], NULL, worker, &j[i]))
            return 2;
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        printf("thread %d: %d, stack %s\n", i, j[i].result, j[i].perms);
    }
    return 0;
}
