/* libnext_lib.so: a start-up library asking for the next printf. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

void next_lib_call(void) {
    void *p = dlsym(RTLD_NEXT, "printf");
    printf("libnext_lib: RTLD_NEXT printf is libc's: %d\n", p == (void *)printf);
}
