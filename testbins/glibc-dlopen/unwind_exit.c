/* pthread_exit from the main thread unwinds its stack, running the
 * cleanup handlers: libc loads libgcc_s.so.1 for the unwinder with its
 * own dlopen (__libc_dlopen_mode) and dlsym (__libc_dlsym). Exits 0
 * through the atexit handler after the last thread (this one) is gone. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void bye(void) { printf("atexit ran\n"); }
static void cleanup(void *p) { printf("cleanup %s\n", (const char *)p); }

int main(void) {
    atexit(bye);
    printf("before pthread_exit\n");
    pthread_cleanup_push(cleanup, "outer");
    pthread_cleanup_push(cleanup, "inner");
    pthread_exit(NULL);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return 1;
}
