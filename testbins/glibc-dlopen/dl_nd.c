/* libdl_nd.so: opened with RTLD_NODELETE: dlclose keeps it. */
#include <stdio.h>
int nd_value(void) { return 9; }
__attribute__((destructor)) static void nd_fini(void) { printf("dtor libdl_nd\n"); fflush(stdout); }
