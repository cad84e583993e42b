/* Prints which foo its reference bound to: directly (-DDIRECT: linked
 * against a libv.so, the reference carries the version that library gave
 * foo, or none) or through ref_foo() of a libref*.so (ver_ref.c). */
#include "link/say.h"

#ifdef DIRECT
const char *foo(void);
int main(void) {
    say_ks("foo", foo());
    const char *(*volatile p)(void) = foo; /* a GLOB_DAT as well as the PLT */
    say_ks("via pointer", p());
    return 0;
}
#else
const char *ref_foo(void);
const char *ref_foo_ptr(void);
int main(void) {
    say_ks("ref foo", ref_foo());
    say_ks("ref via pointer", ref_foo_ptr());
    return 0;
}
#endif
