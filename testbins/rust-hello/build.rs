//! Link rust-hello as a PIE with no libc, no start files and no program
//! interpreter: it is run explicitly under a loader (`guardld rust-hello`).
fn main() {
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-pie",
        "-Wl,--no-dynamic-linker",
        "-Wl,-z,noexecstack",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
