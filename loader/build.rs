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
        "-Wl,--hash-style=gnu",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
}
