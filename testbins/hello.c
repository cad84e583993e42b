/* hello: the smallest test program. Prints "hello from <argv[0]>", exits 0. */
#include "rt/rt.h"

int main(int argc, char **argv, char **envp) {
    (void)envp;
    print_str("hello from ");
    print_str(argc > 0 ? argv[0] : "(no argv[0])");
    print_char('\n');
    return 0;
}
