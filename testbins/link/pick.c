#include "say.h"
const char *which_pick(void);
int main(void) {
    say_ks("which", which_pick());
    return 0;
}
