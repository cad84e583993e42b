/* libdl_b.so: a dependency of libdl_a.so (loaded with it, RTLD_LOCAL). */
int b_value(int x) { return x * 3 + 1; }
