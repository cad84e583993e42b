//! Link the cdylib without libc or start files: glibc loads it into an
//! audit namespace of its own, where a module that links libc makes glibc
//! load a second libc (+9 VMAs per process). Link arguments go to the
//! cdylib only: the rlib and its test harness keep their ordinary ones.
fn main() {
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-Wl,-z,now",
        // Two PT_LOADs (R+X, R+W), no RELRO: the module costs a process
        // two VMAs (it has a handful of GOT entries, bound at load).
        "-Wl,--no-rosegment",
        "-Wl,-z,norelro",
        "-Wl,-z,noexecstack",
        "-Wl,--no-undefined",
        "-Wl,--build-id=none",
        "-Wl,-soname,libguardld_audit.so",
        "-Wl,--hash-style=gnu",
    ] {
        println!("cargo:rustc-link-arg-cdylib={arg}");
    }
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let map = std::path::Path::new(&manifest).join("exports.map");
    println!("cargo:rerun-if-changed={}", map.display());
    println!("cargo:rustc-link-arg-cdylib=-Wl,--version-script={}", map.display());
}
