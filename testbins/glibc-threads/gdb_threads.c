/* Four threads alive at a breakpoint, for gdb's `info threads`
 * (libthread_db finds them through the loader's _rtld_global stack lists
 * and libc's _thread_db_* descriptors). Three wait in pause() after a
 * barrier; main stops in threads_ready(). */
#include <pthread.h>
#include <unistd.h>

static pthread_barrier_t ready;

static void *waiter(void *arg) {
    pthread_barrier_wait(&ready);
    for (;;)
        pause();
    return arg;
}

__attribute__((noinline)) void threads_ready(void) {
    __asm__ volatile("" ::: "memory");
}

int main(void) {
    pthread_t t[3];
    pthread_barrier_init(&ready, 0, 4);
    for (int i = 0; i < 3; i++)
        if (pthread_create(&t[i], 0, waiter, 0) != 0)
            return 1;
    pthread_barrier_wait(&ready);
    threads_ready();
    return 0;
}
