/* libifunc_lazy.so (tests/glibc_dlopen.rs): an IFUNC resolver that calls
   a function nothing defines, while the loader relocates the library: the
   call goes through lazy binding, which fails with glibc's "symbol lookup
   error" (exit 127) under both loaders. Linked with
   --unresolved-symbols=ignore-all. */
int nowhere_defined(void);

static int impl(void) { return 1; }
static void *resolve_calls_missing(void) {
    return nowhere_defined() ? (void *)impl : (void *)impl;
}
int calls_missing(void) __attribute__((ifunc("resolve_calls_missing")));
