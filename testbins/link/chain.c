#include "say.h"
int chain0(int depth);
int main(void) {
    say("main");
    say_kv("depth", chain0(0));
    return 0;
}
