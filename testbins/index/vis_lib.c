/* tests/index.rs "visibility", one library per -D:
 *
 *   (none)     libvis.so: vis_hidden is STV_HIDDEN (not exported at all),
 *              vis_prot and vis_prot_var STV_PROTECTED (exported, but the
 *              library's own uses are bound by the linker to its own)
 *   -DSTUB     the link-time stub of libvis.so (stub/libvis.so): the same
 *              names, all default visibility, so that libvisuser.so links
 *   -DALT      libvisalt.so: a default-visibility vis_hidden, later in the
 *              scope
 *   -DUSER     libvisuser.so: references vis_hidden, vis_prot,
 *              vis_prot_var from outside
 */
#if !defined(STUB) && !defined(ALT) && !defined(USER)
__attribute__((visibility("hidden"))) const char *vis_hidden(void) { return "vis_hidden from libvis"; }
const char *vis_calls_hidden(void) { return vis_hidden(); }
__attribute__((visibility("protected"))) const char *vis_prot(void) { return "vis_prot from libvis"; }
__attribute__((visibility("protected"))) int vis_prot_var[2] = {5, 5};
const char *vis_calls_prot(void) { return vis_prot(); }
const char *vis_prot_via_ptr(void) {
    const char *(*volatile p)(void) = vis_prot;
    return p();
}
int vis_reads_prot_var(void) { return vis_prot_var[0]; }
#endif

#ifdef STUB
const char *vis_hidden(void) { return "stub"; }
const char *vis_calls_hidden(void) { return "stub"; }
const char *vis_prot(void) { return "stub"; }
int vis_prot_var[2];
const char *vis_calls_prot(void) { return "stub"; }
const char *vis_prot_via_ptr(void) { return "stub"; }
int vis_reads_prot_var(void) { return 0; }
#endif

#ifdef ALT
const char *vis_hidden(void) { return "vis_hidden from libvisalt"; }
#endif

#ifdef USER
const char *vis_hidden(void);
const char *vis_prot(void);
extern int vis_prot_var[2];
const char *user_calls_hidden(void) { return vis_hidden(); }
const char *user_calls_prot(void) { return vis_prot(); }
int user_reads_prot_var(void) { return vis_prot_var[0]; }
#endif
