/* The vDSO's link map (RO _dl_sysinfo_map): libc's time() and
 * gettimeofday() IFUNC resolvers look the vDSO's functions up through the
 * loader while libc is relocated, so &time is __vdso_time in the vDSO;
 * dl_iterate_phdr lists linux-vdso.so.1 at AT_SYSINFO_EHDR. Exits 5. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

static int cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    if (strcmp(info->dlpi_name, "linux-vdso.so.1") == 0)
        printf("dl_iterate_phdr: %s at AT_SYSINFO_EHDR=%d phnum>0=%d\n", info->dlpi_name,
               info->dlpi_addr == getauxval(AT_SYSINFO_EHDR), info->dlpi_phnum > 0);
    return 0;
}

static void where(const char *what, void *f) {
    Dl_info i;
    if (dladdr(f, &i))
        printf("%s: in %s, symbol %s, exact=%d\n", what, i.dli_fname, i.dli_sname ? i.dli_sname : "(none)", i.dli_saddr == f);
    else
        printf("%s: dladdr found nothing\n", what);
}

int main(void) {
    struct timeval tv;
    struct timespec ts;
    time_t t = time(NULL);
    gettimeofday(&tv, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("clocks agree=%d\n", tv.tv_sec - t <= 1 && ts.tv_sec - t <= 1 && t > 1600000000);
    where("time", (void *)time);
    where("gettimeofday", (void *)gettimeofday);
    dl_iterate_phdr(cb, NULL);
    return 5;
}
