/*
 * zlib.c: the template of the zygote's libraries (libzyg<ZID>.so, built
 * with -DZID=<n> by zygote-bench). Linked by rust-lld with a 64 KiB
 * max-page-size it has four PT_LOADs (R, RX, RW RELRO, RW), so three
 * padding gaps: what guardld covers with guards or PROT_NONE mappings.
 * zl_call touches every part (rodata, code, relocated RELRO pointers,
 * data, bss) and returns 4*x + 2*ZID, the same in every process (nothing
 * survives a call).
 */
#ifndef ZID
#error "build with -DZID=<library number>"
#endif

/* .rodata */
static const char zl_text[] = "zygote library";

/* .data */
long zl_counter = ZID;

/* .bss: two pages and a bit */
static unsigned char zl_bss[2 * 4096 + 7];

/* .data.rel.ro: relocated pointers, then read-only */
static long add_id(long x) { return x + ZID; }
static long times3(long x) { return 3 * x; }
struct op {
    const char *name;
    long (*fn)(long);
};
const struct op zl_ops[] = {{zl_text, add_id}, {zl_text + 7, times3}};

long zl_id(void) { return ZID; }

/* 4*x + 2*ZID, or a negative code if a part of the library is wrong. */
long zl_call(long x) {
    volatile unsigned char *b = zl_bss;
    unsigned long at = (unsigned long)(ZID * 97 + x) % sizeof zl_bss;
    if (b[at] != 0) return -1;
    b[at] = 1;
    b[at] = 0;
    if (zl_ops[0].name[0] != 'z' || zl_ops[1].name[0] != 'l') return -2;
    long r = 0;
    for (int i = 0; i < 2; i++) r += zl_ops[i].fn(x);
    return r + zl_counter; /* (x + ZID) + 3x + ZID */
}
