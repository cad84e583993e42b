/* The definitions of foo behind tests/index.rs "versions": one variant
 * per -D (each foo returns a string naming itself).
 *
 *   -DPLAIN='"..."'  unversioned foo (libu.so; the link-time stubs, also
 *                    with ver_1.map to make a foo@@VERS_1 stub)
 *   -DV12            libv.so: foo@VERS_1 and foo@@VERS_2 (ver_12.map)
 *   -DHID2           libh2.so: only foo@VERS_1 (non-default, i.e. hidden),
 *                    VERS_1 being version index 2 (ver_1h.map)
 *   -DHID3           libh3.so: only foo@VERS_1 (hidden), VERS_1 being
 *                    version index 3 (ver_0h.map: VERS_0 comes first)
 *   -DDEF4           libd4.so: foo@VERS_1 (hidden, index 3) and
 *                    foo@@VERS_2 (index 4) (ver_012.map)
 *   -DDUP            libdup.so: an unversioned (base version) foo AND
 *                    foo@VERS_1 in one object (ver_dup.map)
 *
 * vmark0/1/2 give every version node of the maps a symbol of its own.
 */
#ifdef PLAIN
const char *foo(void) { return PLAIN; }
#endif

#ifdef V12
__asm__(".symver foo_v1, foo@VERS_1");
__asm__(".symver foo_v2, foo@@VERS_2");
const char *foo_v1(void) { return "libv foo@VERS_1"; }
const char *foo_v2(void) { return "libv foo@@VERS_2"; }
#endif

#ifdef HID2
__asm__(".symver foo_v1, foo@VERS_1");
const char *foo_v1(void) { return "libh2 foo@VERS_1"; }
#endif

#ifdef HID3
__asm__(".symver foo_v1, foo@VERS_1");
const char *foo_v1(void) { return "libh3 foo@VERS_1"; }
#endif

#ifdef DEF4
__asm__(".symver foo_v1, foo@VERS_1");
__asm__(".symver foo_v2, foo@@VERS_2");
const char *foo_v1(void) { return "libd4 foo@VERS_1"; }
const char *foo_v2(void) { return "libd4 foo@@VERS_2"; }
#endif

#ifdef DUP
__asm__(".symver foo_v1, foo@VERS_1");
const char *foo(void) { return "libdup foo (base version)"; }
const char *foo_v1(void) { return "libdup foo@VERS_1"; }
#endif

int vmark0, vmark1, vmark2;
