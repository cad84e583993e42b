/* The executable interposes who() and lib_value of libinter.so. */
#include "say.h"

const char *lib_asks_who(void);
int lib_reads_value(void);
const char *greet(void);
const char *lib_asks_greet(void);

const char *who(void) { return "exe"; }
int lib_value = 2;

int main(void) {
    say_ks("who", who());
    say_ks("lib_asks_who", lib_asks_who());
    say_kv("lib_reads_value", lib_reads_value());
    lib_value = 7;
    say_kv("lib_reads_value", lib_reads_value());
    say_ks("greet", greet());
    say_ks("lib_asks_greet", lib_asks_greet());
    return 0;
}
