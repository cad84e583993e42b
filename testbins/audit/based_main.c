/* Calls both libraries linked at the same nonzero base. */
#include <stdio.h>
int based_a(int);
int based_b(int);
int main(void) { printf("sum=%d\n", based_a(1) + based_b(2)); return 0; }
