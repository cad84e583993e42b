/* libbasedA.so / libbasedB.so (-DNAME=...): shared objects linked at a
 * nonzero base (lld --image-base), so that the second one loaded cannot get
 * its address and glibc relocates it: its l_addr then points at no page of
 * its own. */
#include <stdio.h>
int NAME(int x) { printf("%s %d\n", __func__, x); return x + 1; }
