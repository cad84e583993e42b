/* One link of the NEEDED chain lib0 -> lib1 -> ... : built with
 * -DFN=chainN -DNAME='"N"' and, except for the last, -DNEXT=chainN+1. */
#include "say.h"
#ifdef NEXT
int NEXT(int depth);
#endif
__attribute__((constructor)) static void ctor(void) { say("init chain " NAME); }
int FN(int depth) {
#ifdef NEXT
    return NEXT(depth + 1);
#else
    return depth + 1;
#endif
}
