/*
 * The libraries of the gdb tests (tests/api.rs): libapigdb.so
 * (-DGDB_LIB, NEEDed by gdbprog) and libapigdbdl.so (-DGDB_DL, dlopened).
 * noinline and a volatile: the breakpoint lands in a real frame.
 */
#ifdef GDB_LIB
__attribute__((noinline)) int gdb_libfunc(int x) {
    volatile int y = x + 1;
    return y * 2;
}
#endif

#ifdef GDB_DL
__attribute__((noinline)) int gdb_dlfunc(int x) {
    volatile int y = x + 2;
    return y * 3;
}
#endif
