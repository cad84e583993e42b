#include "say.h"
const char *o1(void);
int main(void) {
    say_ks("o1", o1());
    return 0;
}
