/* Calls and data across objects: exe <-> libbasic.so. */
#include "say.h"

extern int counter;
extern int *counter_ptr;
extern const char lib_msg[];
extern int (*lib_fp)(int);
int lib_add(int x);
int lib_calls_back(int x);
const char *lib_name(void);
int (*lib_add_addr(void))(int);

int exe_value = 1000;
int exe_cb(int x) { return x * 2; }

int main(void) {
    say_kv("lib_add(2)", lib_add(2));
    say_kv("counter", counter);
    counter = 100;
    say_kv("*counter_ptr", *counter_ptr);
    say_kv("counter_ptr==&counter", counter_ptr == &counter);
    say_kv("lib_fp(1)", lib_fp(1));
    say_kv("counter", counter);
    say_kv("lib_calls_back(5)", lib_calls_back(5));
    exe_value = 2000;
    say_kv("lib_calls_back(5)", lib_calls_back(5));
    say_ks("lib_name", lib_name());
    say_kv("lib_name==lib_msg", lib_name() == lib_msg);
    say_kv("lib_fp==lib_add", lib_fp == lib_add);
    say_kv("lib_add_addr==lib_add", lib_add_addr() == lib_add);
    return 3;
}
