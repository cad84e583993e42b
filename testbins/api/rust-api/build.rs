//! Link rust-api as docs/api.md describes: a PIE with no libc and no start
//! files, linked by rust-lld (gcc -fuse-ld=lld with the sysroot's gcc-ld
//! directory first on gcc's program path) against the guardld binary
//! itself, which records DT_NEEDED ld-guardld.so.1; PT_INTERP = guardld.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=GUARDLD");
    let guardld = std::env::var("GUARDLD").expect("set GUARDLD to the absolute path of the guardld binary");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).args(["--print", "sysroot"]).output().expect("rustc --print sysroot");
    let sysroot = String::from_utf8(out.stdout).unwrap();
    let gcc_ld = format!("{}/lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld", sysroot.trim());
    for arg in [
        "-nostartfiles".to_string(),
        "-nostdlib".to_string(),
        "-pie".to_string(),
        format!("-B{gcc_ld}"),
        "-fuse-ld=lld".to_string(),
        format!("-Wl,--dynamic-linker={guardld}"),
        "-Wl,-z,noexecstack".to_string(),
        guardld.clone(),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
