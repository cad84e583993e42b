/* The indexed neighbours of the big (more than 4096 exports, not indexed)
 * library of tests/index.rs "big": -DEARLY: libbigearly.so, before
 * libbig.so in the scope; -DLATE: libbiglate.so, between libbig.so and
 * libbig2.so (both generated at test time, see gen_big in tests/index.rs). */
#ifdef EARLY
/* Also in libbig.so: the earlier, indexed definition wins. */
const char *early_and_big(void) { return "early_and_big from libbigearly"; }
int big_7(void) { return 7007; }
const char *early_calls_early_and_big(void) { return early_and_big(); }
#endif

#ifdef LATE
/* Also in libbig.so, which comes first: libbig's definitions win. */
const char *big_and_late(void) { return "big_and_late from libbiglate"; }
const char *big_weak(void) { return "strong big_weak from libbiglate"; }
int bigvar[2] = {7, 7};
int big_4000(void) { return 4004000; }
/* Also in libbig2.so, which comes after. */
const char *late_and_big2(void) { return "late_and_big2 from libbiglate"; }
const char *late_only(void) { return "late_only from libbiglate"; }
const char *late_calls_big_and_late(void) { return big_and_late(); }
const char *late_calls_big_weak(void) { return big_weak(); }
int late_reads_bigvar(void) { return bigvar[0]; }
#endif
