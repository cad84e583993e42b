//! Link the loader binary as a freestanding static PIE with our own linker
//! script. Link arguments go to the binary only (`-bins`): the test harness
//! must keep its ordinary start files.
fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let script = std::path::Path::new(&manifest).join("../linker.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static-pie",
        "-Wl,-z,now",
        "-Wl,-z,max-page-size=4096",
        "-Wl,-z,relro",
        "-Wl,-z,noexecstack",
        "-Wl,--no-undefined",
        "-Wl,--build-id=none",
        "-Wl,-soname,ld-guardld.so.1",
        // The runtime interface guardld exports to the programs it loads.
        "-Wl,--export-dynamic-symbol=__tls_get_addr",
        "-Wl,--export-dynamic-symbol=guardld_*",
        "-Wl,--export-dynamic-symbol=_r_debug",
        "-Wl,--export-dynamic-symbol=_dl_debug_state",
        "-Wl,--export-dynamic-symbol=dl*",
        // glibc's private loader interface (glibc/exports.rs): what
        // libc.so.6 imports from its ld.so, for the glibc personality.
        "-Wl,--export-dynamic-symbol=_dl_*",
        "-Wl,--export-dynamic-symbol=_rtld_global*",
        "-Wl,--export-dynamic-symbol=__libc_stack_end",
        "-Wl,--export-dynamic-symbol=__libc_enable_secure",
        "-Wl,--export-dynamic-symbol=__rseq_*",
        "-Wl,--export-dynamic-symbol=__tunable_get_val",
        "-Wl,--export-dynamic-symbol=__nptl_change_stack_perm",
        "-Wl,--hash-style=gnu",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
}
