/* Needs libchain_b.so (glibc_dlopen::requester_outlives_the_object_that_loaded_it). */
int open_by_name(const char *name);
int chain_a(void) { return open_by_name("libchain_leaf.so"); }
