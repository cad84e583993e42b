/* Calls libifunc.so's IFUNC pick(), and has an IFUNC of its own
 * (exe_pick: R_X86_64_IRELATIVE in the executable). */
#include "say.h"
int pick(void);
int lib_calls_pick(void);
int (*lib_pick_addr(void))(void);

static int exe_one(void) { return 10; }
static int exe_two(void) { return 20; }
static int (*resolve_exe_pick(void))(void) {
    unsigned a = 0, b, c = 0, d;
    __asm__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return a > 0 ? exe_two : exe_one;
}
int exe_pick(void) __attribute__((ifunc("resolve_exe_pick")));
int (*volatile exe_pick_ptr)(void) = exe_pick;

int main(void) {
    say_kv("pick", pick());
    say_kv("lib_calls_pick", lib_calls_pick());
    say_kv("lib_pick_addr()()", lib_pick_addr()());
    say_kv("same &pick", lib_pick_addr() == pick);
    say_kv("exe_pick", exe_pick());
    say_kv("exe_pick_ptr()", exe_pick_ptr());
    return 0;
}
