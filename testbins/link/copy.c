/* A non-PIE executable (-fno-pie -no-pie) using data of libcopy.so
 * directly: the linker gives it R_X86_64_COPY relocations. */
#include "say.h"
extern int table[4];
extern const char banner[];
int lib_sum(void);
const char *lib_banner_addr(void);
int *lib_table_addr(void);
int (*lib_sum_addr(void))(void);

int main(void) {
    say_kv("table[3]", table[3]);
    say_kv("lib_sum", lib_sum());
    table[0] = 100;
    say_kv("lib_sum after table[0]=100", lib_sum());
    say_kv("same table", lib_table_addr() == table);
    say_kv("same banner", lib_banner_addr() == banner);
    say_ks("banner", banner);
    /* The library's &lib_sum is the executable's canonical PLT entry. */
    say_kv("same &lib_sum", lib_sum_addr() == lib_sum);
    return 0;
}
