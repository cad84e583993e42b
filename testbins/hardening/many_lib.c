/* libmanyN.so (-DN=k): one of the 20 libraries of the RLIMIT_AS test, each
 * with 64 MiB of bss, so that the whole set needs ~1.3 GiB of address
 * space while guardld itself needs a few MiB. */
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
__attribute__((used)) static volatile char big[64 << 20];
int CAT(many_, N)(void) {
    big[N] = (char)N;
    return N + big[N] - N;
}
