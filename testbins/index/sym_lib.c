/* tests/index.rs "symbolic", one library per -D:
 *
 *   -DSYM   libsym.so, linked -Bsymbolic (DT_SYMBOLIC; the linker binds
 *           its own references itself)
 *   -DSYMP  libsymp.so, linked normally (its own references stay dynamic
 *           relocations) and then given DF_SYMBOLIC in DT_FLAGS by the
 *           test: the loader must bind those to the object itself
 *   -DUSER  libsymuser.so: references sym_fn, symp_fn, symp_var from
 *           elsewhere: the program's definitions (first in scope)
 *
 * The program interposes sym_fn, symp_fn, sym_var, symp_var and hook.
 */
#ifdef SYM
const char *sym_fn(void) { return "sym_fn from libsym"; }
int sym_var[2] = {1, 1};
const char *sym_calls(void) { return sym_fn(); }
const char *sym_via_ptr(void) {
    const char *(*volatile p)(void) = sym_fn;
    return p();
}
int sym_reads_var(void) { return sym_var[0]; }
#endif

#ifdef SYMP
const char *hook(void); /* not defined here: the scope decides */
const char *symp_fn(void) { return "symp_fn from libsymp"; }
int symp_var[2] = {2, 2};
const char *symp_calls(void) { return symp_fn(); }
const char *symp_via_ptr(void) {
    const char *(*volatile p)(void) = symp_fn;
    return p();
}
int symp_reads_var(void) { return symp_var[0]; }
const char *symp_calls_hook(void) { return hook(); }
#endif

#ifdef USER
const char *sym_fn(void);
const char *symp_fn(void);
extern int symp_var[2];
const char *hook(void) { return "hook from libsymuser"; }
const char *user_calls_sym(void) { return sym_fn(); }
const char *user_calls_symp(void) { return symp_fn(); }
int user_reads_symp_var(void) { return symp_var[0]; }
#endif
