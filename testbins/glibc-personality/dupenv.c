/* dupenv NAME=VALUE... -- PROGRAM ARGS: exec PROGRAM with exactly those
   environment entries, duplicates included (setenv and env(1) would keep
   one): glibc_personality::duplicate_variables_last_one_wins. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int sep = 1;
  while (sep < argc && strcmp(argv[sep], "--"))
    sep++;
  if (sep + 1 >= argc)
    return 2;
  char *envp[64];
  int n = 0;
  for (int i = 1; i < sep && n < 63; i++)
    envp[n++] = argv[i];
  envp[n] = 0;
  execve(argv[sep + 1], argv + sep + 1, envp);
  perror("execve");
  return 3;
}
