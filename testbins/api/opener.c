/*
 * libapiopener.so (built into sub/, with DT_RUNPATH $ORIGIN) and
 * libapisub.so (-DSUB, also only in sub/): tests/api.rs,
 * "caller-runpath". opener_open calls dlopen with a bare name; glibc
 * searches the calling object's DT_RUNPATH, so libapisub.so is found next
 * to libapiopener.so even though the executable's RUNPATH does not cover
 * sub/.
 */
#ifdef SUB
int sub_value(void) { return 55; }
#else
#include "guardld.h"
/* Not a tail call: like glibc, guardld identifies the calling object by the
 * return address of the dlopen call, which a `jmp dlopen` would not leave
 * in this library. */
void *opener_open(const char *name) {
    void *h = dlopen(name, RTLD_NOW);
    __asm__ volatile("" ::: "memory");
    return h;
}
#endif
