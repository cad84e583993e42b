/* libdc.so: the bottom of the diamond (exe -> A, B; A -> C; B -> C).
 * Linked with -Wl,-init=dc_init,-fini=dc_fini: DT_INIT runs before the
 * DT_INIT_ARRAY entries, DT_FINI after the (reversed) DT_FINI_ARRAY. */
#include "say.h"

void dc_init(int argc, char **argv, char **envp) {
    (void)argv;
    (void)envp;
    say_kv("init C DT_INIT argc", argc);
}
void dc_fini(void) { say("fini C DT_FINI"); }

/* Initializers get (argc, argv, envp), as from glibc. */
__attribute__((constructor)) static void c_ctor1(int argc, char **argv, char **envp) {
    say_kv("init C 1 argc", argc);
    say_ks("init C 1 argv[1]", argc > 1 ? argv[1] : "(none)");
    int n = 0;
    while (envp && envp[n]) n++;
    say_kv("init C 1 envc", n);
}
__attribute__((constructor)) static void c_ctor2(void) { say("init C 2"); }
__attribute__((destructor)) static void c_dtor1(void) { say("fini C 1"); }
__attribute__((destructor)) static void c_dtor2(void) { say("fini C 2"); }

int dc(void) { return 100; }
