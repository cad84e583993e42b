/* Linked with -z execstack: runs code from its stack and prints the
   stack's permissions (glibc_personality::executable_stack_program). */
#include <stdio.h>
#include <string.h>
int main(void) {
  FILE *m = fopen("/proc/self/maps", "r");
  char line[512];
  while (m && fgets(line, sizeof line, m))
    if (strstr(line, "[stack]"))
      printf("stack %.4s\n", strchr(line, ' ') + 1);
  if (m)
    fclose(m);
  unsigned char code[] = {0xb8, 0x2a, 0, 0, 0, 0xc3}; /* mov $42, %eax; ret */
  int (*f)(void) = (int (*)(void))code;
  printf("stack code returned %d\n", f());
  return 0;
}
