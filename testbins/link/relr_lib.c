/* librelr.so: many relative relocations (an array of pointers, packed into
 * DT_RELR with -z pack-relative-relocs), plus one at an odd address, which
 * RELR cannot express (it stays in .rela.dyn). */
static int vals[64];
#define P1(i) &vals[i]
#define P4(i) P1(i), P1(i + 1), P1(i + 2), P1(i + 3)
#define P16(i) P4(i), P4(i + 4), P4(i + 8), P4(i + 12)
int *ptrs[70] = {P16(0), P16(16), P16(32), P16(48), P4(0), P1(60), P1(61)};
const char *names[] = {"zero", "one", "two", "three"};
struct __attribute__((packed)) odd {
    char c;
    int *p;
} odd = {1, &vals[5]};

long relr_check(void) {
    long bad = 0;
    for (int i = 0; i < 64; i++) vals[i] = i;
    for (int i = 0; i < 70; i++) bad += *ptrs[i] != (i < 64 ? i : i == 68 ? 60 : i == 69 ? 61 : i - 64);
    bad += *odd.p != 5;
    bad += names[3][0] != 't' || names[1][0] != 'o';
    return bad;
}
