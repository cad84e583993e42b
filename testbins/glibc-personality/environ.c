/* AT_SECURE and the environment as main sees it, entry by entry: what the
   loader left of it (glibc_personality::secure_mode_environment). */
#include <stdio.h>
#include <sys/auxv.h>
extern char **environ;
int main(void) {
  printf("secure=%lu\n", getauxval(AT_SECURE));
  for (char **e = environ; *e; e++)
    printf("env %s\n", *e);
  return 0;
}
