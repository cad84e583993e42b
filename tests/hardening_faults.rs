//! Issue "guardld never crashes inside itself", part 2 of 3: fault
//! injection. mmap failing midway (RLIMIT_AS), VM_LOCKED mappings that
//! refuse guards, dlopen of broken libraries at run time (no safety net
//! there), /proc unavailable, and a library truncated while it loads. Part
//! 1 is hardening_objects.rs, part 3 hardening_security.rs.
//!
//! Every refusal must be exit status 127 (never a signal, never a hang: the
//! harness kills after a timeout), nothing on stdout (no initializer, no
//! main), and `guardld: <file>: <reason>` on stderr naming the broken file.
//! docs/hardening.md maps each threat to its test here or in the other
//! suites.
//!
//! The victim (testbins/hardening/, built by tests/common/victim.rs):
//! `hv_prog` NEEDs libhv.so, which NEEDs libhvdep.so at version HVDEP_1 and
//! defines its symbols at HV_1; every object is linked by rust-lld with a
//! 64 KiB max-page-size (padding between segments), RUNPATH `$ORIGIN`,
//! PT_INTERP = guardld. Each test copies a pristine build into its own
//! directory and patches the copy (tests/common/elf.rs, sections located
//! with the `object` crate); the unpatched copy is run first where it
//! matters, so the refusal comes from the patch.
//!
//! The mount-namespace and mlockall tests need root (they say "skipped"
//! and pass otherwise); the truncation-while-loading test needs strace.
//!
//! Run: `cargo test --release --test hardening_faults` from the workspace
//! root.

mod common;

use common::elf::*;
use common::paused::*;
use common::victim::*;
use common::*;
use guard_abi_host as host;
use object::elf::{DT_STRTAB, DT_SYMTAB, DT_VERNEED};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ==================================================== 2. fault injection ===

/// 20 libraries of 64 MiB bss each (libmany0.so ... libmany19.so) and the
/// program calling them all, PT_INTERP = guardld.
fn many() -> &'static (PathBuf, PathBuf) {
    static M: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    M.get_or_init(|| {
        let rel = "hardening/sets/many";
        let dir = out_dir(rel);
        let mut p = cc(rel, "many_prog")
            .pie()
            .interp(guardld())
            .source("hardening/many_prog.c");
        for n in 0..20 {
            let name = format!("libmany{n}.so");
            cc(rel, &name)
                .shared()
                .source("hardening/many_lib.c")
                .arg(format!("-DN={n}"))
                .arg(format!("-Wl,-soname,{name}"))
                .build();
            p = p.arg(format!("-lmany{n}"));
        }
        let prog = p
            .arg(format!("-L{}", dir.display()))
            .arg("-Wl,-rpath,$ORIGIN")
            .build();
        let l0 = readelf(&["-lW"], &dir.join("libmany0.so"));
        assert!(
            l0.contains("0x4000"),
            "libmany0.so has no 64 MiB bss:\n{l0}"
        );
        // A libc-less program with no libraries: the kernel's own floor.
        let hello = cc(rel, "hello")
            .pie()
            .interp(guardld())
            .source("hello.c")
            .build();
        (prog, hello)
    })
}

/// `prlimit --as=BYTES -- ARGV...` with an empty environment.
fn with_as_limit(bytes: u64, argv: &[&Path]) -> Command {
    let mut c = command("prlimit", &[]);
    c.arg(format!("--as={bytes}:{bytes}")).arg("--");
    c.args(argv);
    c.current_dir("/");
    c
}

/// mmap failing midway: RLIMIT_AS swept from 256 KiB to more than the 20
/// libraries need. A limit below what the kernel needs to exec guardld (or
/// the program and guardld) kills the process with SIGSEGV inside execve
/// (si_code SI_KERNEL, before any guardld instruction): those limits are
/// skipped, explicitly when `guardld --version` does not start, as
/// PT_INTERP below 768 KiB (measured: the kernel needs ~360 KiB for guardld
/// alone, more for a program and guardld) or when a library-less PT_INTERP
/// program does not run. At every other limit the big program must run
/// (all fits) or be refused with exit 127 and a `guardld:` message; never a
/// signal. Below ~640 KiB guardld's own allocator fails (`guardld:
/// internal error: ... memory allocation of N bytes failed`), then the
/// program's or a library's reservation (`cannot reserve address space`).
#[test]
fn rlimit_as_sweep() {
    let (prog, hello) = many();
    let unlimited = run(command(guardld(), &[]).arg(prog).current_dir("/"));
    assert_clean(&unlimited, "many_sum=190\n");
    let kib = 1u64 << 10;
    let mut limits: Vec<u64> = [
        256u64, 320, 352, 384, 448, 512, 576, 640, 704, 768, 832, 896,
    ]
    .iter()
    .map(|k| k * kib)
    .collect();
    limits.extend(
        [
            1u64, 2, 4, 8, 16, 32, 64, 96, 128, 192, 256, 384, 512, 640, 768, 1024, 1536, 2048,
        ]
        .iter()
        .map(|m| m << 20),
    );
    let mut report = Vec::new();
    for limit in limits {
        let starts = run(&mut with_as_limit(
            limit,
            &[guardld(), Path::new("--version")],
        ))
        .code()
            == Some(0);
        let kernel_ok =
            limit >= 768 * kib && run(&mut with_as_limit(limit, &[hello])).code() == Some(0);
        let mut line = format!("{:>5} KiB:", limit / kib);
        for (via, ok) in [(Via::Explicit, starts), (Via::Interp, kernel_ok)] {
            if !ok {
                line += &format!(" {via:?}=not started;");
                continue;
            }
            let mut c = match via {
                Via::Explicit => with_as_limit(limit, &[guardld(), prog]),
                Via::Interp => with_as_limit(limit, &[prog]),
            };
            let o = run(&mut c);
            assert_no_crash(&o);
            match o.code() {
                Some(0) => {
                    assert_clean(&o, "many_sum=190\n");
                    line += &format!(" {via:?}=ran;");
                }
                _ => {
                    o.assert_code(127);
                    assert!(o.stdout.is_empty(), "{}", o.describe());
                    let e = o.stderr_str();
                    assert!(e.starts_with("guardld: "), "{}", o.describe());
                    let first = e
                        .lines()
                        .next()
                        .unwrap_or("")
                        .replace(&itest_dir().display().to_string(), "");
                    line += &format!(" {via:?}=127 {first};");
                }
            }
        }
        report.push(line);
    }
    let all = report.join("\n");
    println!("{all}");
    assert!(
        all.contains("Explicit=127"),
        "no limit made the libraries fail to map:\n{all}"
    );
    assert!(
        all.contains("Explicit=ran"),
        "no limit let everything load:\n{all}"
    );
}

/// VM_LOCKED: mlockall(MCL_FUTURE) is not inherited across execve, so the
/// program locks itself and then dlopen()s libhv.so. The kernel refuses
/// guard regions on locked VMAs; guardld must fall back to PROT_NONE
/// padding (docs/mapping.md) and the library must work. Checked on the
/// paused process: libhv.so's padding is `---p` VMAs, not guards.
#[test]
fn mlockall_then_dlopen() {
    if !is_root("mlockall_then_dlopen") {
        return;
    }
    let (c, prog) = dl_case("mlockall_then_dlopen");
    let lib = c.lib();
    let (o, snap) = run_paused(
        command(&prog, &[("GUARDLD_TEST_PAUSE", "1")]).current_dir("/"),
        Snapshot::maps,
    );
    let maps = &snap.maps_text;
    let out = o.stdout_str();
    assert!(
        out.contains("mlockall=0\n"),
        "mlockall failed (needs CAP_IPC_LOCK or RLIMIT_MEMLOCK)\n{}",
        o.describe()
    );
    assert!(
        out.contains("dlopen=ok\n") && out.contains("hv_fn=42\n"),
        "{}",
        o.describe()
    );
    // libhv.so's VMAs: file mappings named by path, and PROT_NONE gaps
    // between them (anonymous, so matched by address).
    let lib = lib.display().to_string();
    let mine = host::vmas_of(&snap.maps, &lib).count();
    assert!(mine > 0, "libhv.so not mapped:\n{maps}");
    let (lo, hi) = host::span_of(&snap.maps, &lib).unwrap();
    let gaps = snap
        .maps
        .iter()
        .filter(|v| v.start >= lo && v.end <= hi && v.is_gap())
        .count();
    println!("libhv.so {lo:#x}-{hi:#x}: {mine} file VMAs, {gaps} PROT_NONE gaps");
    assert!(
        gaps >= 2,
        "padding not covered by PROT_NONE under VM_LOCKED:\n{maps}"
    );
}

/// A case of the base set plus mlock_prog (testbins/hardening/mlock_prog.c,
/// dlopen()s libhv.so from its own directory), linked against guardld.
fn dl_case(test: &str) -> (Victim, PathBuf) {
    let c = Victim::new(base(), test);
    let prog = cc(&format!("hardening/{test}"), "mlock_prog")
        .pie()
        .interp(guardld())
        .source("hardening/mlock_prog.c")
        .arg("-I")
        .arg(workspace().join("include"))
        .arg("-Wl,-rpath,$ORIGIN")
        .arg(guardld())
        .build();
    (c, prog)
}

/// dlopen() of a broken libhv.so at run time: dlopen returns NULL, dlerror
/// names the library and the reason, nothing of it ran, and the program
/// goes on (prints "still running", exits 1). guardld's safety net is not
/// installed after start-up, so here a check is the only defence.
#[test]
fn dlopen_of_a_broken_library_fails_cleanly() {
    type Patch = fn(&mut Vec<u8>);
    let cases: [(&str, &[&str], Patch); 6] = [
        ("zero_buckets", &["corrupt symbol hash table"], |d| {
            let h = GnuHash::of(d);
            put_u32(d, h.at, 0);
        }),
        // Loader bug 1's input: at start-up guardld panics on it (the global
        // index reads the empty table); dlopen only finds nothing in it.
        ("empty_hash", &["undefined symbol", "hash"], |d| {
            let h = GnuHash::of(d);
            put_u32(d, h.at + 4, 0);
            for k in 0..h.nbuckets {
                put_u32(d, h.buckets() + 4 * k, 0);
            }
        }),
        ("strtab_in_padding", &["DT_STRTAB"], |d| {
            let a = padding_addr(d, 0);
            set_dyn(d, DT_STRTAB, a);
        }),
        ("verneed_outside", &["corrupt symbol version tables"], |d| {
            set_dyn(d, DT_VERNEED, 0x7fff_0000_0000)
        }),
        ("reloc_in_text", &["outside any writable segment"], |d| {
            let k = first_relative_rela(d);
            let t = text_addr(d);
            put_u64(d, k, t);
        }),
        ("truncated", &["past the end of the file"], |d| {
            let n = needed_len(d);
            d.truncate(n - 1);
        }),
    ];
    for (name, reasons, f) in cases {
        let (c, prog) = dl_case(&format!("dlopen_of_a_broken_library_fails_cleanly/{name}"));
        let o = run_with_timeout(
            command(&prog, &[]).arg("nolock").current_dir("/"),
            REFUSE_TIMEOUT,
        );
        // libhv's constructor writes at once; the program's lines are
        // buffered until exit.
        assert_clean(&o, "libhv init\ndlopen=ok\nhv_fn=42\n");
        patch(&c.lib(), f);
        let o = run_with_timeout(
            command(&prog, &[]).arg("nolock").current_dir("/"),
            REFUSE_TIMEOUT,
        );
        println!("{name}: {}", o.stdout_str().lines().nth(1).unwrap_or(""));
        assert_no_crash(&o);
        o.assert_code(1);
        let want = format!("dlopen=fail\ndlerror={}: ", c.lib().display());
        let out = o.stdout_str();
        assert!(
            out.starts_with(&want)
                && reasons.iter().any(|r| out.contains(r))
                && out.ends_with("still running\n"),
            "{}",
            o.describe()
        );
    }
}

/// dlopen() of a library whose tables lie in a segment mapped without
/// PROT_READ (`p_flags` = 0): every table address is inside a segment, so
/// the bounds checks pass and guardld's dlopen reads the unreadable page.
/// At start-up the safety net turns that into a refusal
/// (`tables_in_unreadable_segment`); at run time there is no net and the
/// program dies of SIGSEGV inside dlopen. dlopen must fail instead.
#[test]

fn dlopen_of_unreadable_tables_fails_cleanly() {
    let (c, prog) = dl_case("dlopen_of_unreadable_tables_fails_cleanly");
    patch(&c.lib(), |d| {
        let p = load_at(d, dyn_value(d, DT_SYMTAB));
        put_u32(d, p.at + 4, 0);
    });
    let o = run_with_timeout(
        command(&prog, &[]).arg("nolock").current_dir("/"),
        REFUSE_TIMEOUT,
    );
    assert_no_crash(&o);
    o.assert_code(1);
    let want = format!("dlopen=fail\ndlerror={}: ", c.lib().display());
    assert!(o.stdout_str().starts_with(&want), "{}", o.describe());
}

/// /proc unavailable: an empty tmpfs mounted over /proc in a new mount
/// namespace (`unshare -m`). guardld reads /proc/self/exe only for the
/// program's $ORIGIN and size when it is PT_INTERP. So: the program with
/// an absolute RUNPATH runs both ways; with RUNPATH $ORIGIN it runs
/// explicitly (the origin is the path given) and, as PT_INTERP, its
/// $ORIGIN is unknown, the element is dropped and libhv.so is not found:
/// a clean 127 (as glibc, which has the same dependency on /proc).
#[test]
fn no_proc() {
    if !is_root("no_proc") {
        return;
    }
    let c = Victim::new(base(), "no_proc");
    let unshare = |argv: &[&Path]| {
        let mut cmd = command("unshare", &[]);
        cmd.args([
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -t tmpfs none /proc && exec \"$@\"",
            "sh",
        ]);
        cmd.args(argv).current_dir("/");
        run(&mut cmd)
    };
    // The setup itself: /proc/self does not exist in there.
    let probe = unshare(&[
        Path::new("sh"),
        Path::new("-c"),
        Path::new("test -e /proc/self/exe && echo present || echo absent"),
    ]);
    probe.assert_code(0).assert_stdout("absent\n");
    let abs = c.dir.join("hv_prog_abs");
    assert_clean(&unshare(&[abs.as_path()]), WANT);
    assert_clean(&unshare(&[guardld(), abs.as_path()]), WANT);
    assert_clean(&unshare(&[guardld(), c.prog().as_path()]), WANT);
    let o = unshare(&[c.prog().as_path()]);
    println!(
        "$ORIGIN as PT_INTERP without /proc: {}",
        o.stderr_str().trim_end()
    );
    assert_no_crash(&o);
    o.assert_code(127)
        .assert_stderr_contains("cannot find shared object libhv.so");
    assert!(o.stdout.is_empty(), "{}", o.describe());
}

/// A library truncated after guardld mapped it (the file shrinks under a
/// live mapping): guardld's next read of its pages raises SIGBUS, which
/// the safety net turns into `guardld: LIB: bus error ...` and exit 127.
/// Timed with strace: every guard installation (process_madvise/madvise,
/// made right after an object's mmaps and before anything reads it) is
/// delayed by 1.5 s; the test truncates libhv.so as soon as it shows in the
/// process's maps.
#[test]
fn library_truncated_while_loading() {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("strace not installed: skipped");
        return;
    }
    let c = Victim::new(base(), "library_truncated_while_loading");
    let lib = c.lib();
    let mut cmd = command("strace", &[]);
    cmd.args([
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "trace=process_madvise,madvise",
        "-e",
        "inject=process_madvise,madvise:delay_enter=1500000",
        "--",
    ])
    .arg(guardld())
    .arg(c.prog())
    .current_dir("/");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.process_group(0);
    let mut child = cmd.spawn().expect("spawn strace");
    let spid = child.id();
    let start = Instant::now();
    let mut truncated = false;
    while start.elapsed() < Duration::from_secs(15) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        let kids = std::fs::read_to_string(format!("/proc/{spid}/task/{spid}/children"))
            .unwrap_or_default();
        let mapped = kids.split_whitespace().any(|k| {
            std::fs::read_to_string(format!("/proc/{k}/maps"))
                .is_ok_and(|m| m.contains(&lib.display().to_string()))
        });
        if mapped {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&lib)
                .unwrap()
                .set_len(0)
                .unwrap();
            truncated = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let out = child.wait_with_output().unwrap();
    let o = Outcome {
        command: format!("{cmd:?}"),
        status: out.status,
        stdout: out.stdout,
        stderr: out.stderr,
        timed_out: false,
        elapsed: start.elapsed(),
    };
    assert!(
        truncated,
        "libhv.so never showed up mapped\n{}",
        o.describe()
    );
    println!("{}", o.stderr_str().trim_end());
    assert_refused_net(
        &o,
        &lib,
        &["bus error", "truncated", "invalid memory access"],
        true,
    );
}
