/* Needs libtbad.so ($ORIGIN): prints bad_v=0x5a when the library is sound. */
#include "rt/rt.h"

long bad_get(void);

int main(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    print_kv_hex("bad_v", (unsigned long)bad_get());
    return 0;
}
