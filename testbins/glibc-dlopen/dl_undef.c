/* libdl_undef.so: calls a function nothing defines (linked with
 * --unresolved-symbols=ignore-all): RTLD_NOW must fail. */
int missing_fn_guardld(int);
int undef_value(int x) { return missing_fn_guardld(x); }
