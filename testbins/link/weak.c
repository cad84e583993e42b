/* Weak undefined references, in the executable and in libweak.so. */
#include "say.h"
extern int missing_fn(void) __attribute__((weak));
extern int missing_data __attribute__((weak));
extern int lib_present(void) __attribute__((weak));
int weak_report(void);
int weak2_value(void);
const char *weakdef(void);
const char *lib_weakdef(void);

/* volatile: the compiler may not assume the addresses are non-null. */
int (*volatile missing_fn_ptr)(void) = missing_fn;
int *volatile missing_data_ptr = &missing_data;

int main(void) {
    say_kv("exe missing_fn==0", missing_fn_ptr == 0);
    say_kv("exe &missing_data==0", missing_data_ptr == 0);
    say_kv("exe lib_present", lib_present ? lib_present() : -1);
    say_kv("lib weak_report", weak_report());
    say_kv("lib weak2_value", weak2_value());
    say_ks("weakdef", weakdef());
    say_ks("lib_weakdef", lib_weakdef());
    return 0;
}
