#include "say.h"
int cyc_a(int n);
int self_calls_self(void);
int main(void) {
    say("main");
    say_kv("cyc_a(5)", cyc_a(5));
    say_kv("self_calls_self", self_calls_self());
    return 0;
}
