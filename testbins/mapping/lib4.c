/*
 * lib4: a shared library with four PT_LOADs when linked with a 64 KiB
 * max-page-size (lld: R, RX, RW RELRO, RW; bfd -z separate-code: R, RX, R,
 * RW with RELRO at its head), and a .bss of several pages. Used by
 * tests/mapping.rs: lib4_check() exercises every part of the library (read
 * only data, code, RELRO pointers that need relocation, data, bss) so that
 * a mapping that lost or misplaced any byte shows up as a wrong result.
 */

/* .rodata (R) */
static const char lib4_text[] = "lib4 rodata";

/* .data (RW) */
int lib4_counter = 1000;

/* .bss: several pages, must read as zero */
#define BSS_SIZE (3 * 4096 + 123)
static unsigned char lib4_bss[BSS_SIZE];

/* .data.rel.ro (RELRO): pointers, so relocated, then read-only */
static int twice(int x) { return 2 * x; }
static int thrice(int x) { return 3 * x; }
struct op {
    const char *name;
    int (*fn)(int);
};
const struct op lib4_ops[] = {{lib4_text, twice}, {lib4_text + 5, thrice}};

/* Returns (sum of ops on x) + counter, after checking bss is zero and
 * writable, or a negative code on failure. */
int lib4_check(int x) {
    for (unsigned long i = 0; i < BSS_SIZE; i++)
        if (lib4_bss[i] != 0) return -1;
    for (unsigned long i = 0; i < BSS_SIZE; i++) lib4_bss[i] = (unsigned char)i;
    unsigned long sum = 0;
    for (unsigned long i = 0; i < BSS_SIZE; i++) sum += lib4_bss[i];
    if (sum == 0) return -2;
    if (lib4_ops[0].name[0] != 'l' || lib4_ops[1].name[0] != 'r') return -3;
    int r = 0;
    for (unsigned long i = 0; i < sizeof lib4_ops / sizeof lib4_ops[0]; i++) r += lib4_ops[i].fn(x);
    lib4_counter++;
    return r + lib4_counter;
}
