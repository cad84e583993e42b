/* Stack permissions around a dlopen of a library that asks for an
 * executable stack: the main thread's stack, a thread running before the
 * dlopen, and one created after it, each by the /proc/self/maps line
 * holding one of its locals.
 *   execstack_main DIR */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static char perms_buf[8];

static const char *perms_of(const void *p) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long a = (unsigned long)p, lo, hi;
    strcpy(perms_buf, "?");
    while (f && fgets(line, sizeof line, f)) {
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && a >= lo && a < hi) {
            strcpy(perms_buf, perms);
            break;
        }
    }
    if (f) fclose(f);
    return perms_buf;
}

static pthread_barrier_t before, after;

static void *early(void *arg) {
    int local = 0;
    (void)arg;
    pthread_barrier_wait(&before);
    pthread_barrier_wait(&after);
    printf("early thread stack after: %s\n", perms_of(&local));
    return NULL;
}

static void *late(void *arg) {
    int local = 0;
    (void)arg;
    printf("late thread stack: %s\n", perms_of(&local));
    return NULL;
}

int main(int argc, char **argv) {
    int local = 0;
    char path[4096];
    pthread_t t1, t2;
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(path, sizeof path, "%s/libexecstack.so", argc > 1 ? argv[1] : ".");
    pthread_barrier_init(&before, NULL, 2);
    pthread_barrier_init(&after, NULL, 2);
    pthread_create(&t1, NULL, early, NULL);
    pthread_barrier_wait(&before);
    printf("main stack before: %s\n", perms_of(&local));
    void *h = dlopen(path, RTLD_NOW);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    int (*f)(void) = (int (*)(void))dlsym(h, "execstack_value");
    printf("value %d\n", f ? f() : -1);
    printf("main stack after: %s\n", perms_of(&local));
    pthread_barrier_wait(&after);
    pthread_join(t1, NULL);
    pthread_create(&t2, NULL, late, NULL);
    pthread_join(t2, NULL);
    return 0;
}
