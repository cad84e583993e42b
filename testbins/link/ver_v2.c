/* libver.so, second build: the old vfunc stays as vfunc@VERS_1, the new
 * default is vfunc@@VERS_2 (version script ver_v2.map). */
__asm__(".symver vfunc_v1, vfunc@VERS_1");
__asm__(".symver vfunc_v2, vfunc@@VERS_2");
int vfunc_v1(void) { return 1; }
int vfunc_v2(void) { return 2; }
