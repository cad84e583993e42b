/* libtbad.so: a library with a PT_TLS; tests/tls.rs patches copies of it
 * into malformed ones (p_filesz > p_memsz, p_align = 3, image past its
 * segment). */
__thread long bad_v = 0x5a;
__thread long bad_w;

long bad_get(void) { return bad_v + bad_w; }
