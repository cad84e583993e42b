//! glibc-linked test libraries for the audit module (guardld-audit):
//! libaudit1..N.so (each NEEDs the previous) and libauditplugin.so, from
//! testbins/audit/, lld with 64 KiB max-page-size, so that each has four
//! PT_LOADs and three gaps that glibc's ld.so leaves as `---p` VMAs.
//! Shared by tests/audit.rs and tests/gmaps.rs.

use super::{Cc, Linker, itest_dir};
use std::path::PathBuf;

/// gcc for a glibc-linked object in `target/itest/testbins/<dir>/<out>`:
/// lld, 64 KiB max-page-size.
pub fn glibc_lld64(dir: &str, out: &str) -> Cc {
    Cc::new(dir, out).libc().linker(Linker::Lld).page_size(65536)
}

/// Build libaudit1..=n.so and libauditplugin.so into
/// `target/itest/testbins/<dir>/` (created by the caller, e.g. with
/// `out_dir`); each libauditK.so has an rpath to that directory. Returns
/// libaudit<n>.so, the one a program links against.
pub fn build_libs(dir: &str, n: usize) -> PathBuf {
    let d = itest_dir().join("testbins").join(dir);
    let mut last = PathBuf::new();
    for k in 1..=n {
        let mut c = glibc_lld64(dir, &format!("libaudit{k}.so"))
            .source("audit/lib.c")
            .shared()
            .arg(format!("-DN={k}"))
            .arg(format!("-DM={}", k - 1));
        if k > 1 {
            c = c.arg(d.join(format!("libaudit{}.so", k - 1)));
        }
        last = c.arg(format!("-Wl,-rpath,{}", d.display())).build();
    }
    glibc_lld64(dir, "libauditplugin.so").source("audit/plugin.c").shared().build();
    last
}
