/* many_prog: NEEDs libmany0.so ... libmany19.so and calls each:
 * prints many_sum=190 (0 + 1 + ... + 19). */
#include "rt/rt.h"
#define DECL(n) extern int many_##n(void);
#define CALL(n) + many_##n()
DECL(0) DECL(1) DECL(2) DECL(3) DECL(4) DECL(5) DECL(6) DECL(7) DECL(8) DECL(9)
DECL(10) DECL(11) DECL(12) DECL(13) DECL(14) DECL(15) DECL(16) DECL(17) DECL(18) DECL(19)
int main(int argc, char **argv, char **envp) {
    (void)argc;
    (void)argv;
    (void)envp;
    int sum = 0 CALL(0) CALL(1) CALL(2) CALL(3) CALL(4) CALL(5) CALL(6) CALL(7) CALL(8) CALL(9)
        CALL(10) CALL(11) CALL(12) CALL(13) CALL(14) CALL(15) CALL(16) CALL(17) CALL(18) CALL(19);
    print_kv_dec("many_sum", sum);
    return 0;
}
