/* libdl_a.so: needs libdl_b.so; a constructor and destructor that print;
 * versioned symbols (dl_a.map) for dlvsym; an RTLD_NEXT lookup from a
 * dlopen'd object. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int b_value(int);
int a_counter = 5;

__attribute__((constructor)) static void a_init(void) { printf("ctor libdl_a (a_counter=%d)\n", a_counter++); }
__attribute__((destructor)) static void a_fini(void) { printf("dtor libdl_a\n"); fflush(stdout); }

int a_value(int x) { return b_value(x) + 100; }

/* RTLD_NEXT from here: the objects after libdl_a in its dlopen group. */
int a_next(int x) {
    int (*f)(int) = (int (*)(int))dlsym(RTLD_NEXT, "b_value");
    return f ? f(x) : -1;
}

int vsym_old(void) { return 1; }
int vsym_new(void) { return 2; }
__asm__(".symver vsym_old, vsym@DLA_1");
__asm__(".symver vsym_new, vsym@@DLA_2");
