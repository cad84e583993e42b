/* Permissions ("rwxp") of the mapping holding `addr`, from
 * /proc/self/maps ("????" if none): shared by the thread test programs. */
#ifndef GLIBC_THREADS_PERMS_H
#define GLIBC_THREADS_PERMS_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void perms_of(const void *addr, char out[5]) {
    strcpy(out, "????");
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && lo <= (uintptr_t)addr && (uintptr_t)addr < hi)
            memcpy(out, p, 5);
    }
    if (f)
        fclose(f);
}
#endif
