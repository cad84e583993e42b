/* libdl_g.so: opened RTLD_GLOBAL, then found through RTLD_DEFAULT. */
int g_value(void) { return 77; }
