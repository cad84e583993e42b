/* libdl_tlsbig.so: __thread data larger than glibc's static TLS surplus
 * (1664 bytes): dynamic TLS, allocated per thread on first access. */
__thread char tls_big[16384] = { 1, 2, 3 };
__thread long tls_big_tail = 1000;
int tls_big_sum(void) {
    int s = 0;
    for (int i = 0; i < (int)sizeof tls_big; i++) s += tls_big[i];
    tls_big[100] = 7;
    return s + (int)tls_big_tail++;
}
