#include "say.h"
int err_fn(void);
int main(void) {
    say_kv("err_fn", err_fn());
    return 0;
}
