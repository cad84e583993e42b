/* libifunc.so: pick() is an IFUNC whose resolver chooses by CPUID and by
 * data that needs relocation (mode, a pointer: R_X86_64_RELATIVE), so it
 * must run after its object is relocated. */
static const char *mode = "fast";

static int pick_fast(void) { return 2; }
static int pick_slow(void) { return 1; }

static int has_sse2(void) {
    unsigned a = 1, b, c = 0, d;
    __asm__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return (d >> 26) & 1;
}

static int (*resolve_pick(void))(void) {
    return has_sse2() && mode[0] == 'f' ? pick_fast : pick_slow;
}

int pick(void) __attribute__((ifunc("resolve_pick")));
int lib_calls_pick(void) { return pick(); }
int (*lib_pick_addr(void))(void) { return pick; }
