/* libglibcthr.so: TLS of a shared library, general-dynamic (the library
   is -fPIC) and so reached through __tls_get_addr. */
#include "tls_lib.h"
#include <string.h>

__thread unsigned long lib_counter = 1000;
__thread char lib_name[16] = "lib-image";
__thread unsigned lib_zero[64];
static __thread unsigned long lib_static = 0x5a5a;

int lib_tls_fresh(void) {
    for (int i = 0; i < 64; i++)
        if (lib_zero[i] != 0)
            return 0;
    return lib_counter == 1000 && lib_static == 0x5a5a && strcmp(lib_name, "lib-image") == 0;
}

unsigned long lib_tls_work(unsigned seed) {
    for (unsigned i = 0; i < 64; i++) {
        lib_zero[i] = seed * 31 + i;
        lib_counter += lib_zero[i] % 7;
    }
    lib_static ^= seed;
    lib_name[0] = (char)('A' + seed % 26);
    unsigned long sum = lib_counter + lib_static;
    for (int i = 0; i < 64; i++)
        sum = sum * 1315423911u + lib_zero[i];
    return sum ^ (unsigned char)lib_name[0];
}

void *lib_tls_addr(void) {
    return &lib_counter;
}
