/* A glibc program with one 64 KiB-aligned library (libaudit1.so):
 *   one        prints the library's result
 *   one check  also what testbins/audit/inspect.h observes of it. */
#include "audit/inspect.h"

int audit_fn1(int);

int main(int argc, char **argv) {
    page = sysconf(_SC_PAGESIZE);
    printf("fn1=%d\n", audit_fn1(2));
    if (argc > 1 && !strcmp(argv[1], "check")) {
        dl_iterate_phdr(collect, NULL);
        report_objects();
    }
    return 0;
}
