/* An initial-exec TLS library (R_X86_64_TPOFF64, DF_STATIC_TLS): needs
   static TLS when dlopen'd. */
__attribute__((tls_model("initial-exec"))) __thread char ie_buf[600];
int ie_touch(int v) { ie_buf[v % 600] = (char)v; return ie_buf[v % 600]; }
