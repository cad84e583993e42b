/* liblazy.so: references functions nothing defines when the program
 * starts (built with gcc's default lazy binding, -z lazy). glibc binds a
 * PLT reference at its first call: missing_fn_guardld fails only if
 * called; provided_later is defined by libprovider.so once the program
 * dlopens it RTLD_GLOBAL. */
int missing_fn_guardld(int);
int provided_later(int);

int lazy_maybe_missing(int call) { return call ? missing_fn_guardld(1) : 7; }
int lazy_later(int x) { return provided_later(x) + 1; }
