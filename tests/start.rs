//! Issue "guardld runs a program": guardld starts libc-less programs, as
//! PT_INTERP and explicitly (`guardld PROGRAM ARGS`), and what the program
//! sees at its entry point (argv, envp, auxv, stack alignment, exit status)
//! is what glibc's ld.so gives it. Plus the command line and the rejection
//! of files that are not runnable programs.
//!
//! Run: `cargo test --release --test start` from the workspace root.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// Environment of the comparison runs. GUARDLD_TEST_SKIP_FINI: glibc's
/// _dl_fini asserts when a libc-less program calls it (see testbins/rt/rt.h).
const CMP_ENV: &[(&str, &str)] = &[("GUARDLD_TEST_SKIP_FINI", "1"), ("FOO", "bar")];

/// auxv's loader-specific line (AT_BASE is the loader's own base; glibc run
/// explicitly leaves it 0).
const LOADER_SPECIFIC: &[&str] = &["at_base_is_elf"];

fn without_loader_specific(s: &str) -> String {
    take_keys(s, LOADER_SPECIFIC).0
}

fn at_base_is_elf(o: &Outcome) -> Option<String> {
    take_keys(&o.stdout_str(), &["at_base_is_elf"])
        .1
        .into_iter()
        .next()
        .map(|(_, v)| v)
}

/// The three runs of one program with the same argv[0] (its absolute path),
/// args, environment and working directory:
/// glibc's ld.so explicitly, guardld explicitly, and the program itself
/// (whose PT_INTERP must be guardld).
struct ThreeRuns {
    glibc: Outcome,
    explicit: Outcome,
    interp: Outcome,
}

fn three_runs(prog: &Path, args: &[&str], env: &[(&str, &str)]) -> ThreeRuns {
    let dir = prog.parent().unwrap();
    let run_via = |loader: Option<&Path>| {
        let mut c = match loader {
            Some(l) => {
                let mut c = command(l, env);
                c.arg(prog);
                c
            }
            None => command(prog, env),
        };
        c.args(args).current_dir(dir);
        run(&mut c)
    };
    ThreeRuns {
        glibc: run_via(Some(Path::new(GLIBC_LD))),
        explicit: run_via(Some(guardld())),
        interp: run_via(None),
    }
}

/// Check how `prog` was linked: ELF type and that its PT_INTERP is guardld.
fn assert_linked(prog: &Path, elf_type: &str) {
    let h = readelf(&["-h", "-l", "-d"], prog);
    assert!(
        h.contains(&format!("Type:                              {elf_type}")),
        "{} is not {elf_type}:\n{h}",
        prog.display()
    );
    let want = format!("[Requesting program interpreter: {}]", guardld().display());
    assert!(
        h.contains(&want),
        "{} lacks PT_INTERP = guardld:\n{h}",
        prog.display()
    );
    assert!(
        h.contains("DYNAMIC"),
        "{} has no PT_DYNAMIC:\n{h}",
        prog.display()
    );
    assert!(
        !h.contains("(NEEDED)"),
        "{} has DT_NEEDED entries:\n{h}",
        prog.display()
    );
}

/// auxv run three ways: same stdout (less the loader-specific line) and exit
/// status 42; under guardld AT_BASE is guardld's ELF header in both modes.
fn auxv_compare(r: &ThreeRuns) {
    // The reference itself must be sane, or the comparison means nothing.
    r.glibc
        .assert_code(42)
        .assert_stdout_contains("argc=3\n")
        .assert_stdout_contains("entry_sp_mod16=0\n");
    for (what, o) in [("explicit", &r.explicit), ("PT_INTERP", &r.interp)] {
        println!("guardld {what}: {}", o.command);
        assert_same(&r.glibc, o, without_loader_specific);
        assert_eq!(
            at_base_is_elf(o).as_deref(),
            Some("1"),
            "guardld {what}: AT_BASE is not guardld's ELF header\n{}",
            o.describe()
        );
    }
}

fn auxv_pie(name: &str, linker: Linker, page: u64) {
    let dir = out_dir(&format!("start/{name}"));
    let prog = Cc::new(&format!("start/{name}"), "auxv")
        .source("auxv.c")
        .pie()
        .linker(linker)
        .page_size(page)
        .interp(guardld())
        .build();
    assert_eq!(prog.parent().unwrap(), dir);
    assert_linked(&prog, "DYN");
    auxv_compare(&three_runs(&prog, &["a", "b"], CMP_ENV));
}

#[test]
fn auxv_pie_bfd_4k() {
    auxv_pie("auxv_pie_bfd_4k", Linker::Bfd, 4096);
}

#[test]
fn auxv_pie_bfd_64k() {
    auxv_pie("auxv_pie_bfd_64k", Linker::Bfd, 65536);
}

#[test]
fn auxv_pie_lld_4k() {
    auxv_pie("auxv_pie_lld_4k", Linker::Lld, 4096);
}

#[test]
fn auxv_pie_lld_64k() {
    auxv_pie("auxv_pie_lld_64k", Linker::Lld, 65536);
}

/// A non-PIE ET_EXEC (fixed addresses) with PT_INTERP = guardld. Linked by
/// lld with an unused, dropped library to get PT_DYNAMIC without DT_NEEDED
/// (bfd makes a static executable when no library is linked; glibc's ld.so
/// needs PT_DYNAMIC).
#[test]
fn auxv_no_pie_exec() {
    out_dir("start/auxv_no_pie_exec");
    let prog = Cc::new("start/auxv_no_pie_exec", "auxv")
        .source("auxv.c")
        .no_pie()
        .force_dynamic()
        .interp(guardld())
        .build();
    assert_linked(&prog, "EXEC");
    auxv_compare(&three_runs(&prog, &["a", "b"], CMP_ENV));
}

fn hello(dir: &str, interp: &Path) -> PathBuf {
    out_dir(dir);
    Cc::new(dir, "hello")
        .source("hello.c")
        .pie()
        .interp(interp)
        .build()
}

/// guardld's %rdx finalizer returns: a program that calls it (no
/// GUARDLD_TEST_SKIP_FINI) exits normally, explicitly and as PT_INTERP.
#[test]
fn finalizer_returns() {
    let prog = hello("start/finalizer_returns", guardld());
    let want = format!("hello from {}\n", prog.display());
    let mut c = command(guardld(), &[]);
    c.arg(&prog);
    run(&mut c).assert_code(0).assert_stdout(&want);
    run(&mut command(&prog, &[]))
        .assert_code(0)
        .assert_stdout(&want);
}

#[test]
fn option_argv0() {
    let prog = hello("start/option_argv0", guardld());
    let mut c = command(guardld(), &[]);
    c.arg("--argv0").arg("X").arg(&prog);
    run(&mut c).assert_code(0).assert_stdout("hello from X\n");
}

/// `--` ends guardld's options: what follows is the program and its args.
#[test]
fn option_double_dash() {
    let prog = hello("start/option_double_dash", guardld());
    let mut c = command(guardld(), &[]);
    c.arg("--").arg(&prog).arg("--help");
    run(&mut c)
        .assert_code(0)
        .assert_stdout(&format!("hello from {}\n", prog.display()));
}

#[test]
fn option_help() {
    let o = run(command(guardld(), &[]).arg("--help"));
    o.assert_code(0).assert_stdout_contains("Usage");
}

#[test]
fn option_version() {
    let o = run(command(guardld(), &[]).arg("--version"));
    o.assert_code(0).assert_stdout_contains("guardld");
}

#[test]
fn option_unknown() {
    let o = run(command(guardld(), &[]).arg("--bogus"));
    o.assert_code(127)
        .assert_stderr_contains("guardld:")
        .assert_stderr_contains("--bogus");
    // Also when a program follows.
    let prog = hello("start/option_unknown", guardld());
    let o = run(command(guardld(), &[]).arg("--bogus").arg(&prog));
    o.assert_code(127)
        .assert_stderr_contains("guardld:")
        .assert_stderr_contains("--bogus");
    assert!(o.stdout.is_empty(), "the program ran:\n{}", o.describe());
}

#[test]
fn no_program() {
    run(&mut command(guardld(), &[]))
        .assert_code(127)
        .assert_stderr_contains("guardld:");
    // An option that takes a value, with none.
    run(command(guardld(), &[]).arg("--argv0"))
        .assert_code(127)
        .assert_stderr_contains("guardld:");
}

// ------------------------------------------------------------ bad input ----

/// `guardld PATH` must refuse PATH: exit 127, not a signal, nothing on
/// stdout, and stderr says `guardld: PATH: <reason>` with the reason
/// mentioning one of `reasons` (case-insensitive).
fn assert_rejected(path: &Path, reasons: &[&str]) {
    let mut c = command(guardld(), &[]);
    c.arg(path);
    let o = run_with_timeout(&mut c, std::time::Duration::from_secs(10));
    o.assert_code(127);
    assert!(o.stdout.is_empty(), "stdout not empty\n{}", o.describe());
    let prefix = format!("guardld: {}: ", path.display());
    o.assert_stderr(
        &format!("a line starting {prefix:?} mentioning one of {reasons:?}"),
        |e| {
            e.lines().any(|l| {
                l.starts_with(&prefix) && {
                    let reason = l[prefix.len()..].to_lowercase();
                    reasons.iter().any(|r| reason.contains(&r.to_lowercase()))
                }
            })
        },
    );
}

#[test]
fn reject_missing_file() {
    let dir = out_dir("start/reject_missing_file");
    assert_rejected(&dir.join("no-such-program"), &["No such file"]);
}

#[test]
fn reject_directory() {
    let dir = out_dir("start/reject_directory");
    assert_rejected(&dir, &["directory", "not a regular file"]);
}

#[test]
fn reject_empty_file() {
    let dir = out_dir("start/reject_empty_file");
    let p = dir.join("empty");
    std::fs::write(&p, b"").unwrap();
    // glibc's words: "file too short".
    assert_rejected(&p, &["file too short"]);
}

/// hello cut inside its ELF header (ELF magic, 40 of 64 bytes).
#[test]
fn reject_truncated_elf_header() {
    let prog = hello("start/reject_truncated_elf_header", guardld());
    let b = std::fs::read(&prog).unwrap();
    let p = prog.with_file_name("hello-cut");
    std::fs::write(&p, &b[..40]).unwrap();
    assert_rejected(&p, &["too short", "truncated"]);
}

#[test]
fn reject_text_file() {
    let dir = out_dir("start/reject_text_file");
    let p = dir.join("script.sh");
    std::fs::write(
        &p,
        "#!/bin/sh\n# a shell script is not an ELF program, however long it is\necho hello\n",
    )
    .unwrap();
    assert_rejected(&p, &["invalid ELF header"]);
}

/// A 32-bit (ELFCLASS32) i386 program: `gcc -m32`, or, where gcc cannot
/// build 32-bit code, hello with e_ident[EI_CLASS] set to ELFCLASS32.
#[test]
fn reject_elf32() {
    let dir = out_dir("start/reject_elf32");
    let src = dir.join("start32.c");
    std::fs::write(&src, "void _start(void) { for (;;) ; }\n").unwrap();
    let p = dir.join("prog32");
    let built = std::process::Command::new("gcc")
        .args(["-m32", "-nostdlib", "-ffreestanding", "-O2", "-o"])
        .arg(&p)
        .arg(&src)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if built {
        let h = readelf(&["-h"], &p);
        assert!(h.contains("ELF32"), "gcc -m32 did not give ELF32:\n{h}");
    } else {
        let mut b = std::fs::read(hello("start/reject_elf32/src", guardld())).unwrap();
        b[4] = 1; // EI_CLASS = ELFCLASS32
        std::fs::write(&p, b).unwrap();
    }
    assert_rejected(&p, &["class", "32-bit", "ELF32"]);
}

#[test]
fn reject_relocatable_object() {
    let dir = "start/reject_relocatable_object";
    out_dir(dir);
    let obj = Cc::new(dir, "hello.o")
        .source("hello.c")
        .rt(false)
        .arg("-c")
        .build();
    assert!(readelf(&["-h"], &obj).contains("REL (Relocatable file)"));
    assert_rejected(&obj, &["only ET_DYN and ET_EXEC can be loaded"]);
}

/// A shared library given as the program (e_entry 0: its ELF header):
/// refused with a message, not run into a fault at its first byte. The
/// previous build jumped there (SIGSEGV). Listing it still works.
#[test]
fn reject_shared_library_as_program() {
    let dir = "start/reject_shared_library_as_program";
    out_dir(dir);
    let lib = Cc::new(dir, "libplain.so").source("hello.c").rt(false).shared().build();
    assert!(readelf(&["-h"], &lib).contains("Entry point address:               0x0"), "{}", readelf(&["-h"], &lib));
    assert_rejected(&lib, &["no entry point"]);
    let o = run(command(guardld(), &[]).arg("--list").arg(&lib));
    o.assert_code(0);
}

/// hello cut 30 bytes into its program header table.
#[test]
fn reject_truncated_program_headers() {
    let prog = hello("start/reject_truncated_program_headers", guardld());
    let b = std::fs::read(&prog).unwrap();
    let phoff = u64::from_le_bytes(b[0x20..0x28].try_into().unwrap()) as usize;
    let p = prog.with_file_name("hello-cut");
    std::fs::write(&p, &b[..phoff + 30]).unwrap();
    assert_rejected(
        &p,
        &["program header", "truncated", "past the end", "too short"],
    );
}

/// A FIFO with no writer: opening it for reading would block forever.
#[test]
fn reject_fifo() {
    let dir = out_dir("start/reject_fifo");
    let p = dir.join("fifo");
    let o = std::process::Command::new("mkfifo")
        .arg(&p)
        .output()
        .expect("run mkfifo");
    assert!(
        o.status.success(),
        "mkfifo: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_rejected(&p, &["not a regular file", "fifo"]);
}

// ------------------------------------------------------- other programs ----

/// A no_std Rust program with its own `_start`, run explicitly.
#[test]
fn rust_hello_explicit() {
    let mut c = command(guardld(), &[]);
    c.arg(rust_hello()).args(["x", "y"]);
    run(&mut c)
        .assert_code(7)
        .assert_stdout("hello from rust\nargc=3\n");
}

/// The debug build of guardld (self-relocation under ub_checks) runs hello,
/// explicitly and as PT_INTERP.
#[test]
fn debug_build_runs_hello() {
    let dbg = guardld_debug();
    let prog = hello("start/debug_build_runs_hello", dbg);
    let want = format!("hello from {}\n", prog.display());
    let mut c = command(dbg, &[]);
    c.arg(&prog);
    run(&mut c).assert_code(0).assert_stdout(&want);
    run(&mut command(&prog, &[]))
        .assert_code(0)
        .assert_stdout(&want);
}
