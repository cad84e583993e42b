/* libglibcthr.so: TLS in a shared library (initialised and zero data). */
#ifndef TLS_LIB_H
#define TLS_LIB_H

/* Whether this thread's library TLS still holds its initial image
   (1) or not (0). */
int lib_tls_fresh(void);
/* Deterministic work on the library's TLS; returns a checksum. */
unsigned long lib_tls_work(unsigned seed);
/* Address of the library's initialised TLS variable (distinct per thread). */
void *lib_tls_addr(void);

#endif
