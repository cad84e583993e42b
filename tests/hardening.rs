//! Issue "guardld never crashes inside itself": hand-broken objects not
//! covered by the other suites, fault injection, and the security rules
//! (AT_SECURE, RELRO, W^X). Every refusal must be exit status 127 (never a
//! signal, never a hang: the harness kills after a timeout), nothing on
//! stdout (no initializer, no main), and `guardld: <file>: <reason>` on
//! stderr naming the broken file. docs/hardening.md maps each threat to its
//! test here or in the other suites.
//!
//! The victim (testbins/hardening/): `hv_prog` NEEDs libhv.so, which NEEDs
//! libhvdep.so at version HVDEP_1 and defines its symbols at HV_1; every
//! object is linked by rust-lld with a 64 KiB max-page-size (padding between
//! segments), RUNPATH `$ORIGIN`, PT_INTERP = guardld. Each test copies a
//! pristine build into its own directory and patches the copy of libhv.so
//! (sections located with the `object` crate); the unpatched copy is run
//! first where it matters, so the refusal comes from the patch.
//!
//! guardld also has a safety net (loader/src/sys/signals.rs): a SIGSEGV or
//! SIGBUS inside its own stages prints `guardld: <object>: invalid memory
//! access ...` / `bus error ...` and exits 127. A test that expects a
//! bounds check fails if it sees the safety net's message instead: the net
//! is the last line of defence, not the check.
//!
//! The loader bugs this suite found are fixed and their tests run with
//! the others (docs/hardening.md, "Loader bugs found"): an empty hash table
//! made guardld panic, an IFUNC resolver ran after a link error, a PIE
//! without PT_PHDR was caught only by the safety net (it now runs: the bias
//! is derived from its ELF header), and dlopen of a library whose tables
//! lie in an unreadable segment killed the program.
//!
//! The setuid, mount-namespace, mlockall and uid-switching tests need root
//! (they say "skipped" and pass otherwise); the truncation-while-loading
//! test needs strace.
//!
//! Run: `cargo test --release --test hardening` from the workspace root.

mod common;

use common::*;
use object::read::elf::ElfFile64;
use object::{Endianness, Object, ObjectSection, ObjectSymbol};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Refusals are immediate; a hang is a failure well before RUN_TIMEOUT.
const REFUSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The victim's whole output: libhv's constructor (unbuffered), then main's
/// lines (rt flushes them at exit).
const WANT: &str = "libhv init\nhv_fn=42\nhv_data=5\n";

/// What the safety net and the panic handler print: never the expected
/// outcome of a bounds check.
const NET: &[&str] = &[
    "invalid memory access while loading",
    "bus error reading the file",
    "internal error",
];

// ------------------------------------------------------------ building ----

/// gcc with this file's layout: rust-lld, 64 KiB pages, every DT_NEEDED
/// kept.
fn cc(dir: &str, out: &str) -> Cc {
    Cc::new(dir, out)
        .linker(Linker::Lld)
        .page_size(65536)
        .args(["-fno-tree-loop-distribute-patterns", "-Wl,--no-as-needed"])
}

/// One build of the victim: libhvdep.so, libhv.so, hv_prog (RUNPATH
/// $ORIGIN) and hv_prog_abs (RUNPATH = the set's absolute directory).
struct Set {
    dir: PathBuf,
}

impl Set {
    fn build(name: &str, lib_args: &[&str]) -> Set {
        Set::build_with(name, lib_args, "$ORIGIN")
    }

    /// `lib_runpath`: libhv.so's DT_RUNPATH (where it finds libhvdep.so);
    /// "" for the set's own absolute directory.
    fn build_with(name: &str, lib_args: &[&str], lib_runpath: &str) -> Set {
        let rel = format!("hardening/sets/{name}");
        let dir = out_dir(&rel);
        let l = format!("-L{}", dir.display());
        let tb = testbins();
        cc(&rel, "libhvdep.so")
            .shared()
            .source("hardening/hv_dep.c")
            .arg("-Wl,-soname,libhvdep.so")
            .arg(format!(
                "-Wl,--version-script={}",
                tb.join("hardening/hv_dep.map").display()
            ))
            .build();
        cc(&rel, "libhv.so")
            .shared()
            .source("hardening/hv_lib.c")
            .arg("-Wl,-soname,libhv.so")
            .arg(format!(
                "-Wl,--version-script={}",
                tb.join("hardening/hv_lib.map").display()
            ))
            .args([&l, "-lhvdep"])
            .arg(format!(
                "-Wl,-rpath,{}",
                if lib_runpath.is_empty() {
                    dir.display().to_string()
                } else {
                    lib_runpath.to_string()
                }
            ))
            .args(lib_args)
            .build();
        for (out, rpath) in [
            ("hv_prog", "$ORIGIN".to_string()),
            ("hv_prog_abs", dir.display().to_string()),
        ] {
            cc(&rel, out)
                .pie()
                .interp(guardld())
                .source("hardening/hv_prog.c")
                .args([&l, "-lhv"])
                .arg(format!("-Wl,-rpath,{rpath}"))
                .build();
        }
        let s = Set { dir };
        let d = readelf(&["-dW"], &s.lib());
        for n in ["(VERNEED)", "(VERDEF)", "[libhvdep.so]", "(RUNPATH)"] {
            assert!(d.contains(n), "libhv.so lacks {n}:\n{d}");
        }
        s
    }

    fn lib(&self) -> PathBuf {
        self.dir.join("libhv.so")
    }
}

/// The default build: GNU hash only.
fn base() -> &'static Set {
    static S: OnceLock<Set> = OnceLock::new();
    S.get_or_init(|| Set::build("base", &[]))
}

/// libhv.so with a SysV hash table only (DT_HASH, no DT_GNU_HASH).
fn sysv() -> &'static Set {
    static S: OnceLock<Set> = OnceLock::new();
    S.get_or_init(|| {
        let s = Set::build("sysv", &["-Wl,--hash-style=sysv"]);
        let d = readelf(&["-dW"], &s.lib());
        assert!(
            d.contains("(HASH)") && !d.contains("(GNU_HASH)"),
            "not SysV-only:\n{d}"
        );
        s
    })
}

/// SysV hash and DF_SYMBOLIC: libhv's own references are looked up in its
/// own hash table first (guardld walks its chains at relocation).
fn sysv_symbolic() -> &'static Set {
    static S: OnceLock<Set> = OnceLock::new();
    S.get_or_init(|| {
        let s = Set::build(
            "sysv_symbolic",
            &["-Wl,--hash-style=sysv", "-Wl,-Bsymbolic"],
        );
        let d = readelf(&["-dW"], &s.lib());
        assert!(d.contains("SYMBOLIC"), "no DF_SYMBOLIC:\n{d}");
        s
    })
}

/// Every RUNPATH absolute (libhv.so's and hv_prog_abs's): what a
/// privileged program can use.
fn abs() -> &'static Set {
    static S: OnceLock<Set> = OnceLock::new();
    S.get_or_init(|| Set::build_with("abs", &[], ""))
}

/// libhv.so with its relative relocations packed (DT_RELR).
fn relr() -> &'static Set {
    static S: OnceLock<Set> = OnceLock::new();
    S.get_or_init(|| {
        let s = Set::build("relr", &["-Wl,-z,pack-relative-relocs"]);
        let d = readelf(&["-dW"], &s.lib());
        assert!(d.contains("(RELR)"), "no DT_RELR:\n{d}");
        s
    })
}

/// A test's own copy of a set: target/itest/testbins/hardening/<test>/.
struct Case {
    dir: PathBuf,
}

impl Case {
    fn new(set: &Set, test: &str) -> Case {
        let dir = out_dir(&format!("hardening/{test}"));
        for f in ["libhvdep.so", "libhv.so", "hv_prog", "hv_prog_abs"] {
            std::fs::copy(set.dir.join(f), dir.join(f)).unwrap();
        }
        Case { dir }
    }
    fn prog(&self) -> PathBuf {
        self.dir.join("hv_prog")
    }
    fn lib(&self) -> PathBuf {
        self.dir.join("libhv.so")
    }
}

// ---------------------------------------------------------------- runs ----

/// Whether this test process runs as root (effective uid 0). The setuid,
/// mount-namespace, mlockall and uid-switching tests need it; without it
/// they say so and pass (CI runs as root).
fn is_root(test: &str) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0");
    if !root {
        eprintln!("{test}: skipped: needs root");
    }
    root
}

#[derive(Clone, Copy, Debug)]
enum Via {
    /// `guardld PROG ARGS`
    Explicit,
    /// `PROG ARGS` (the kernel starts guardld as PT_INTERP)
    Interp,
}

const BOTH: [Via; 2] = [Via::Explicit, Via::Interp];

fn start_timeout(
    via: Via,
    prog: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    t: Duration,
) -> Outcome {
    let mut c = match via {
        Via::Explicit => {
            let mut c = command(guardld(), env);
            c.arg(prog);
            c
        }
        Via::Interp => command(prog, env),
    };
    c.args(args).current_dir("/");
    run_with_timeout(&mut c, t)
}

fn start(via: Via, prog: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    start_timeout(via, prog, args, env, REFUSE_TIMEOUT)
}

/// Exit 0 with exactly `want` on stdout.
#[track_caller]
fn assert_clean(o: &Outcome, want: &str) {
    o.assert_code(0).assert_stdout(want);
}

/// Not a signal, not a hang.
#[track_caller]
fn assert_no_crash(o: &Outcome) {
    if o.timed_out || o.signal().is_some() {
        panic!("guardld crashed or hung\n{}", o.describe());
    }
}

/// The refusal: exit 127, nothing of the program ran, a line `guardld:
/// FILE: REASON` with REASON containing one of `reasons`
/// (case-insensitive), and not the safety net's or the panic handler's
/// message unless `net_ok`.
#[track_caller]
fn assert_refused_net(o: &Outcome, file: &Path, reasons: &[&str], net_ok: bool) {
    assert_no_crash(o);
    o.assert_code(127);
    assert!(
        o.stdout.is_empty(),
        "the program (or an initializer) ran\n{}",
        o.describe()
    );
    let prefix = format!("guardld: {}: ", file.display());
    let err = o.stderr_str();
    let hit = err.lines().any(|l| {
        l.strip_prefix(&prefix).is_some_and(|r| {
            reasons
                .iter()
                .any(|w| r.to_lowercase().contains(&w.to_lowercase()))
        })
    });
    assert!(
        hit,
        "stderr lacks a line {prefix:?} with one of {reasons:?}\n{}",
        o.describe()
    );
    if !net_ok {
        for n in NET {
            assert!(
                !err.contains(n),
                "refused by the safety net ({n:?}), not by a check\n{}",
                o.describe()
            );
        }
    }
}

#[track_caller]
fn assert_refused(o: &Outcome, file: &Path, reasons: &[&str]) {
    assert_refused_net(o, file, reasons, false)
}

/// `prog` refused both ways (explicitly and as PT_INTERP) for `file`.
#[track_caller]
fn refused_both(prog: &Path, file: &Path, reasons: &[&str]) {
    for via in BOTH {
        let o = start(via, prog, &[], &[]);
        println!("{via:?}: {}", o.stderr_str().trim_end());
        assert_refused(&o, file, reasons);
    }
}

/// Either a clean run or a refusal naming `file`; never a crash or hang.
/// Returns which, for the report.
#[track_caller]
fn clean_or_refused(o: &Outcome, file: &Path) -> &'static str {
    assert_no_crash(o);
    if o.code() == Some(0) {
        assert_clean(o, WANT);
        "ran"
    } else {
        assert_refused(o, file, &[""]);
        "refused"
    }
}

// ------------------------------------------------------- ELF (test side) ----

fn u16_at(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(d[at..at + 2].try_into().unwrap())
}
fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}
fn u64_at(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}
fn put_u16(d: &mut [u8], at: usize, v: u16) {
    d[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(d: &mut [u8], at: usize, v: u64) {
    d[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_STRSZ: u64 = 10;
const DT_GNU_HASH: u64 = 0x6fff_fef5;
const DT_VERSYM: u64 = 0x6fff_fff0;
const DT_VERNEED: u64 = 0x6fff_fffe;
const DT_VERNEEDNUM: u64 = 0x6fff_ffff;

#[derive(Clone, Copy, Debug)]
struct Phdr {
    /// File offset of this entry.
    at: usize,
    p_type: u32,
    p_flags: u32,
    p_offset: u64,
    p_vaddr: u64,
    p_filesz: u64,
    p_memsz: u64,
}

fn phdrs(d: &[u8]) -> Vec<Phdr> {
    let (phoff, phnum) = (u64_at(d, 0x20) as usize, u16_at(d, 0x38) as usize);
    (0..phnum)
        .map(|i| {
            let at = phoff + i * 56;
            Phdr {
                at,
                p_type: u32_at(d, at),
                p_flags: u32_at(d, at + 4),
                p_offset: u64_at(d, at + 8),
                p_vaddr: u64_at(d, at + 16),
                p_filesz: u64_at(d, at + 32),
                p_memsz: u64_at(d, at + 40),
            }
        })
        .collect()
}

fn loads(d: &[u8]) -> Vec<Phdr> {
    phdrs(d)
        .into_iter()
        .filter(|p| p.p_type == PT_LOAD)
        .collect()
}

/// The bytes a program or library needs to be loadable: headers and every
/// PT_LOAD's file range.
fn needed_len(d: &[u8]) -> usize {
    let (phoff, phnum) = (u64_at(d, 0x20) as usize, u16_at(d, 0x38) as usize);
    loads(d)
        .iter()
        .map(|p| (p.p_offset + p.p_filesz) as usize)
        .chain([64, phoff + phnum * 56])
        .max()
        .unwrap()
}

/// The first page of padding after the `k`-th PT_LOAD, plus 0x100: inside
/// the object's span, outside every segment.
fn padding_addr(d: &[u8], k: usize) -> u64 {
    let l = loads(d);
    let end = (l[k].p_vaddr + l[k].p_memsz).next_multiple_of(0x1000);
    assert!(
        end + 0x1000 <= l[k + 1].p_vaddr & !0xfff,
        "no padding after PT_LOAD #{k}: {l:#x?}"
    );
    end + 0x100
}

/// An address in the executable (text) segment.
fn text_addr(d: &[u8]) -> u64 {
    let t = loads(d)
        .into_iter()
        .find(|p| p.p_flags & 1 != 0)
        .expect("no PF_X segment");
    t.p_vaddr + 0x10
}

/// (file offset of the tag, value) of each dynamic entry up to DT_NULL.
fn dyn_entries(d: &[u8]) -> Vec<(u64, usize, u64)> {
    let p = phdrs(d)
        .into_iter()
        .find(|p| p.p_type == PT_DYNAMIC)
        .expect("no PT_DYNAMIC");
    let mut v = Vec::new();
    for at in (p.p_offset as usize..(p.p_offset + p.p_filesz) as usize).step_by(16) {
        let tag = u64_at(d, at);
        v.push((tag, at, u64_at(d, at + 8)));
        if tag == 0 {
            break;
        }
    }
    v
}

fn dyn_value(d: &[u8], tag: u64) -> u64 {
    dyn_entries(d)
        .iter()
        .find(|e| e.0 == tag)
        .unwrap_or_else(|| panic!("no dynamic tag {tag:#x}"))
        .2
}

fn set_dyn(d: &mut [u8], tag: u64, value: u64) {
    let at = dyn_entries(d)
        .iter()
        .find(|e| e.0 == tag)
        .unwrap_or_else(|| panic!("no dynamic tag {tag:#x}"))
        .1;
    put_u64(d, at + 8, value);
}

/// (file offset, size) of a section.
fn section(d: &[u8], name: &str) -> (usize, usize) {
    let f = ElfFile64::<Endianness>::parse(d).unwrap();
    let s = f
        .section_by_name(name)
        .unwrap_or_else(|| panic!("no section {name}"));
    let (o, n) = s.file_range().unwrap();
    (o as usize, n as usize)
}

fn dynsym(d: &[u8], name: &str) -> (usize, u64) {
    let f = ElfFile64::<Endianness>::parse(d).unwrap();
    let s = f
        .dynamic_symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("no dynamic symbol {name}"));
    (s.index().0, s.address())
}

fn dynsym_count(d: &[u8]) -> usize {
    section(d, ".dynsym").1 / 24
}

/// Write a patched copy over `file` (a new inode: mapped copies of the old
/// one are untouched).
fn patch(file: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut d = std::fs::read(file).unwrap();
    let before = d.clone();
    f(&mut d);
    assert_ne!(d, before, "the patch changed nothing");
    let tmp = file.with_extension("patched");
    std::fs::write(&tmp, &d).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, file).unwrap();
}

/// A fresh case from `set`, checked to run before `f` breaks its libhv.so;
/// then `f`'s refusal reasons are checked both ways.
fn broken_lib(set: &Set, test: &str, reasons: &[&str], f: impl FnOnce(&mut Vec<u8>)) {
    let c = Case::new(set, test);
    assert_clean(&start(Via::Explicit, &c.prog(), &[], &[]), WANT);
    patch(&c.lib(), f);
    refused_both(&c.prog(), &c.lib(), reasons);
}

// =================================================== 1. broken objects ====

/// The pristine victim runs both ways (every refusal below is the patch's).
#[test]
fn victim_runs() {
    for set in [base(), sysv(), sysv_symbolic(), relr()] {
        let c = Case::new(
            set,
            &format!(
                "victim_runs/{}",
                set.dir.file_name().unwrap().to_str().unwrap()
            ),
        );
        for via in BOTH {
            assert_clean(&start(via, &c.prog(), &[], &[]), WANT);
        }
    }
}

// ------------------------------------------------------------ GNU hash ----

/// GNU hash layout: nbuckets, symoffset, bloom_size, bloom_shift, then
/// bloom (u64 each), buckets, chain (u32 each).
struct GnuHash {
    at: usize,
    nbuckets: usize,
    symoffset: usize,
    bloom: usize,
}

impl GnuHash {
    fn of(d: &[u8]) -> GnuHash {
        let (at, _) = section(d, ".gnu.hash");
        GnuHash {
            at,
            nbuckets: u32_at(d, at) as usize,
            symoffset: u32_at(d, at + 4) as usize,
            bloom: u32_at(d, at + 8) as usize,
        }
    }
    fn buckets(&self) -> usize {
        self.at + 16 + self.bloom * 8
    }
    fn chain(&self) -> usize {
        self.buckets() + self.nbuckets * 4
    }
}

const HASH_REASONS: &[&str] = &["corrupt symbol hash table"];

#[test]
fn gnu_hash_zero_buckets() {
    broken_lib(base(), "gnu_hash_zero_buckets", HASH_REASONS, |d| {
        let h = GnuHash::of(d);
        put_u32(d, h.at, 0);
    });
}

/// bloom_size 3: not a power of two (the bloom word index is masked with
/// bloom_size - 1).
#[test]
fn gnu_hash_bloom_not_power_of_two() {
    broken_lib(
        base(),
        "gnu_hash_bloom_not_power_of_two",
        HASH_REASONS,
        |d| {
            let h = GnuHash::of(d);
            assert!(h.bloom.is_power_of_two());
            put_u32(d, h.at + 8, 3);
        },
    );
}

/// A bloom shift of 64 or more (the second bloom bit would be shifted out).
#[test]
fn gnu_hash_bloom_shift_too_large() {
    broken_lib(
        base(),
        "gnu_hash_bloom_shift_too_large",
        HASH_REASONS,
        |d| {
            let h = GnuHash::of(d);
            put_u32(d, h.at + 12, 64);
        },
    );
}

/// No chain word has its end bit: (1) only the chain's own words cleared,
/// so the walk runs on into the tables after it; (2) every byte from the
/// chain to the end of its segment zeroed, so the walk runs to the end of
/// the segment.
#[test]
fn gnu_hash_chain_without_end_marker() {
    broken_lib(
        base(),
        "gnu_hash_chain_without_end_marker/words",
        HASH_REASONS,
        |d| {
            let h = GnuHash::of(d);
            let n = dynsym_count(d) - h.symoffset;
            assert!(n > 0);
            for k in 0..n {
                let at = h.chain() + 4 * k;
                let w = u32_at(d, at) & !1;
                put_u32(d, at, w);
            }
        },
    );
    broken_lib(
        base(),
        "gnu_hash_chain_without_end_marker/to_segment_end",
        HASH_REASONS,
        |d| {
            let h = GnuHash::of(d);
            let seg = loads(d)
                .into_iter()
                .find(|p| (h.at as u64) >= p.p_offset && (h.at as u64) < p.p_offset + p.p_filesz)
                .unwrap();
            let end = (seg.p_offset + seg.p_filesz) as usize;
            d[h.chain()..end].fill(0);
        },
    );
}

/// A bucket pointing below symoffset (into the unhashed local symbols) and
/// one pointing past the symbol table.
#[test]
fn gnu_hash_bucket_out_of_range() {
    broken_lib(
        base(),
        "gnu_hash_bucket_out_of_range/past",
        HASH_REASONS,
        |d| {
            let h = GnuHash::of(d);
            for k in 0..h.nbuckets {
                put_u32(d, h.buckets() + 4 * k, 0x00ff_ffff);
            }
        },
    );
    // Below symoffset: such buckets are skipped; the symbols in them are
    // then simply not found (undefined symbol), or the table is refused.
    let c = Case::new(base(), "gnu_hash_bucket_out_of_range/below");
    patch(&c.lib(), |d| {
        let h = GnuHash::of(d);
        assert!(
            h.symoffset > 1,
            "symoffset {}: nothing below it",
            h.symoffset
        );
        for k in 0..h.nbuckets {
            if u32_at(d, h.buckets() + 4 * k) != 0 {
                put_u32(d, h.buckets() + 4 * k, 1);
            }
        }
    });
    for via in BOTH {
        let o = start(via, &c.prog(), &[], &[]);
        assert_no_crash(&o);
        o.assert_code(127);
        assert!(o.stdout.is_empty(), "{}", o.describe());
        println!("{via:?}: {}", o.stderr_str().trim_end());
    }
}

/// A hash table describing no symbol at all is valid: the library then
/// defines nothing, and the program's references to it are undefined (the
/// refusal names the program and the symbol). Found by fuzzing
/// (fuzz/regressions/dynamic/exported-inverted-range): guardld once
/// panicked on the inverted range 1..0 of such a table.
fn empty_table_lib(set: &Set, test: &str, f: impl FnOnce(&mut Vec<u8>)) {
    let c = Case::new(set, test);
    assert_clean(&start(Via::Explicit, &c.prog(), &[], &[]), WANT);
    patch(&c.lib(), f);
    refused_both(&c.prog(), &c.prog(), &["undefined symbol: hv_"]);
}

/// symoffset 0 and every bucket empty (GNU hash).
#[test]
fn gnu_hash_empty_with_symoffset_zero() {
    empty_table_lib(
        base(),
        "gnu_hash_empty_with_symoffset_zero",
        |d| {
            let h = GnuHash::of(d);
            put_u32(d, h.at + 4, 0);
            for k in 0..h.nbuckets {
                put_u32(d, h.buckets() + 4 * k, 0);
            }
        },
    );
}

/// DT_GNU_HASH pointing into the padding after the first segment.
#[test]
fn gnu_hash_in_padding() {
    broken_lib(base(), "gnu_hash_in_padding", &["DT_GNU_HASH"], |d| {
        let a = padding_addr(d, 0);
        set_dyn(d, DT_GNU_HASH, a);
    });
}

// ------------------------------------------------------------ SysV hash ---

struct SysvHash {
    at: usize,
    nbucket: usize,
    nchain: usize,
}

impl SysvHash {
    fn of(d: &[u8]) -> SysvHash {
        let (at, _) = section(d, ".hash");
        SysvHash {
            at,
            nbucket: u32_at(d, at) as usize,
            nchain: u32_at(d, at + 4) as usize,
        }
    }
    fn bucket(&self, k: usize) -> usize {
        self.at + 8 + 4 * k
    }
    fn chain(&self, i: usize) -> usize {
        self.at + 8 + 4 * self.nbucket + 4 * i
    }
}

#[test]
fn sysv_hash_zero_buckets() {
    broken_lib(sysv(), "sysv_hash_zero_buckets", HASH_REASONS, |d| {
        let h = SysvHash::of(d);
        put_u32(d, h.at, 0);
    });
}

/// nchain larger than the symbol table's room.
#[test]
fn sysv_hash_nchain_too_large() {
    broken_lib(sysv(), "sysv_hash_nchain_too_large", HASH_REASONS, |d| {
        let h = SysvHash::of(d);
        put_u32(d, h.at + 4, 0x0100_0000);
    });
}

/// nchain 0 (SysV hash): no symbol at all, as above.
#[test]
fn sysv_hash_nchain_zero() {
    empty_table_lib(sysv(), "sysv_hash_nchain_zero", |d| {
        let h = SysvHash::of(d);
        put_u32(d, h.at + 4, 0);
    });
}

/// Chains that never reach STN_UNDEF: (1) every symbol chained to itself,
/// (2) every pair of consecutive symbols chained to each other. libhv is
/// DF_SYMBOLIC, so guardld walks its own chains for each of its symbol
/// references (dep_fn is not in libhv: the walk must end without finding
/// it, and the global scope supplies it). glibc would loop forever here;
/// guardld bounds each walk by nchain, so the program runs.
#[test]
fn sysv_hash_chain_cycle() {
    for (name, link) in [("self", 0usize), ("pairs", 1)] {
        let c = Case::new(sysv_symbolic(), &format!("sysv_hash_chain_cycle/{name}"));
        assert_clean(&start(Via::Explicit, &c.prog(), &[], &[]), WANT);
        patch(&c.lib(), |d| {
            let h = SysvHash::of(d);
            for i in 1..h.nchain {
                let next = if link == 0 {
                    i
                } else if i % 2 == 1 {
                    (i + 1).min(h.nchain - 1)
                } else {
                    i - 1
                };
                put_u32(d, h.chain(i), next as u32);
            }
        });
        for via in BOTH {
            let o = start(via, &c.prog(), &[], &[]);
            let what = clean_or_refused(&o, &c.lib());
            println!("{name} {via:?}: {what} in {:?}", o.elapsed);
        }
    }
}

/// A SysV bucket pointing past the chain table.
#[test]
fn sysv_hash_bucket_past_chain() {
    let c = Case::new(sysv_symbolic(), "sysv_hash_bucket_past_chain");
    patch(&c.lib(), |d| {
        let h = SysvHash::of(d);
        for k in 0..h.nbucket {
            put_u32(d, h.bucket(k), 0x7fff_ffff);
        }
    });
    for via in BOTH {
        let o = start(via, &c.prog(), &[], &[]);
        println!("{via:?}: {}", clean_or_refused(&o, &c.lib()));
    }
}

/// DT_HASH pointing into padding.
#[test]
fn sysv_hash_in_padding() {
    broken_lib(sysv(), "sysv_hash_in_padding", &["DT_HASH"], |d| {
        let a = padding_addr(d, 0);
        set_dyn(d, DT_HASH, a);
    });
}

// ---------------------------------------------------------- versioning ----

const VERSION_REASONS: &[&str] = &[
    "corrupt symbol version tables",
    "DT_VERSYM",
    "DT_VERNEED",
    "version",
];

/// DT_VERSYM outside the object, and in its padding.
#[test]
fn versym_outside_segments() {
    broken_lib(base(), "versym_outside_segments/far", &["DT_VERSYM"], |d| {
        set_dyn(d, DT_VERSYM, 0x7fff_0000_0000)
    });
    broken_lib(
        base(),
        "versym_outside_segments/padding",
        &["DT_VERSYM"],
        |d| {
            let a = padding_addr(d, 0);
            set_dyn(d, DT_VERSYM, a);
        },
    );
}

/// DT_VERNEED outside the object, and in its padding.
#[test]
fn verneed_outside_segments() {
    broken_lib(
        base(),
        "verneed_outside_segments/far",
        VERSION_REASONS,
        |d| set_dyn(d, DT_VERNEED, 0x7fff_0000_0000),
    );
    broken_lib(
        base(),
        "verneed_outside_segments/padding",
        VERSION_REASONS,
        |d| {
            let a = padding_addr(d, 0);
            set_dyn(d, DT_VERNEED, a);
        },
    );
}

/// Verneed { vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32 },
/// Vernaux { vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32 }.
fn verneed_at(d: &[u8]) -> usize {
    section(d, ".gnu.version_r").0
}

/// The "next" links of the version requirement lists made to point back
/// at their own entry (0xfffffff0 = -16 as a 32-bit offset, a cycle for a
/// loader doing 32-bit pointer arithmetic): vna_next of the first aux, and
/// vn_next of the (only) Verneed with DT_VERNEEDNUM raised to 2. The links
/// are unsigned, so guardld walks 4 GiB forward, out of the object.
#[test]
fn verneed_next_links_backwards() {
    broken_lib(
        base(),
        "verneed_next_links_backwards/vna_next",
        VERSION_REASONS,
        |d| {
            let v = verneed_at(d);
            let aux = v + u32_at(d, v + 8) as usize;
            // One aux (dep_fn@HVDEP_1): give it a successor, pointing back.
            put_u16(d, v + 2, 2);
            put_u32(d, aux + 12, 0xffff_fff0);
        },
    );
    broken_lib(
        base(),
        "verneed_next_links_backwards/vn_next",
        VERSION_REASONS,
        |d| {
            let v = verneed_at(d);
            assert_eq!(dyn_value(d, DT_VERNEEDNUM), 1);
            set_dyn(d, DT_VERNEEDNUM, 2);
            put_u32(d, v + 12, 0xffff_fff0);
        },
    );
}

/// Version lists that run on into whatever follows them: vn_cnt 0xffff with
/// vna_next = 16 (each "entry" the next 16 bytes), and DT_VERNEEDNUM
/// 0xffffffff with vn_next = 16. The walk is bounded (guardld caps both
/// counts) and every entry is bounds-checked: a refusal or, if the garbage
/// happens to parse, a run. Never a hang or a crash.
#[test]
fn verneed_lists_run_on() {
    let cases: [(&str, fn(&mut Vec<u8>)); 2] = [
        ("vn_cnt", |d| {
            let v = verneed_at(d);
            let aux = v + u32_at(d, v + 8) as usize;
            put_u16(d, v + 2, 0xffff);
            put_u32(d, aux + 12, 16);
        }),
        ("vn_num", |d| {
            let v = verneed_at(d);
            set_dyn(d, DT_VERNEEDNUM, 0xffff_ffff);
            put_u32(d, v + 12, 16);
        }),
    ];
    for (name, f) in cases {
        let c = Case::new(base(), &format!("verneed_lists_run_on/{name}"));
        patch(&c.lib(), f);
        for via in BOTH {
            let o = start(via, &c.prog(), &[], &[]);
            println!(
                "{name} {via:?}: {} {}",
                clean_or_refused(&o, &c.lib()),
                o.stderr_str().trim_end()
            );
        }
    }
}

/// Version indices past both version tables (0x7ff0): (1) in libhv's
/// .gnu.version entry of its reference to dep_fn, (2) of its definition
/// hv_fn, which the program requires at HV_1. guardld treats an index it
/// has no table entry for as "unversioned" (the reference binds to the
/// default version, the definition answers any version): a run, never an
/// out-of-bounds read (glibc indexes its l_versions array with it
/// unchecked).
#[test]
fn version_index_past_tables() {
    for sym in ["dep_fn", "hv_fn"] {
        let c = Case::new(base(), &format!("version_index_past_tables/{sym}"));
        patch(&c.lib(), |d| {
            let (i, _) = dynsym(d, sym);
            let (vs, n) = section(d, ".gnu.version");
            assert!(i * 2 < n);
            put_u16(d, vs + 2 * i, 0x7ff0);
        });
        for via in BOTH {
            let o = start(via, &c.prog(), &[], &[]);
            println!("{sym} {via:?}: {}", clean_or_refused(&o, &c.lib()));
        }
    }
}

// --------------------------------------------------------- relocations ----

const RELOC_REASONS: &[&str] = &["outside any writable segment"];

/// The R_X86_64_RELATIVE relocation of hv_relro_ptr (the only RELATIVE in
/// libhv.so): its r_offset moved (1) into the text segment, (2) into
/// padding, (3) far outside the object.
#[test]
fn reloc_target_not_writable() {
    type Where = fn(&[u8]) -> u64;
    let targets: [(&str, Where); 3] = [
        ("text", text_addr),
        ("padding", |d| padding_addr(d, 1)),
        ("far", |_| 0x7fff_0000_0000),
    ];
    for (name, target) in targets {
        broken_lib(
            base(),
            &format!("reloc_target_not_writable/{name}"),
            RELOC_REASONS,
            |d| {
                let (at, n) = section(d, ".rela.dyn");
                let k = (0..n / 24)
                    .map(|k| at + 24 * k)
                    .find(|&e| u64_at(d, e + 8) & 0xffff_ffff == 8)
                    .expect("no R_X86_64_RELATIVE");
                let t = target(d);
                put_u64(d, k, t);
            },
        );
    }
}

/// The same with DT_RELR: the first address word of the packed table moved
/// into the text segment.
#[test]
fn relr_target_not_writable() {
    broken_lib(
        relr(),
        "relr_target_not_writable",
        &["RELR", "outside any writable segment"],
        |d| {
            let (at, n) = section(d, ".relr.dyn");
            assert!(n >= 8);
            assert_eq!(u64_at(d, at) & 1, 0, "first RELR word is not an address");
            let t = text_addr(d) & !7;
            put_u64(d, at, t);
        },
    );
}

// ------------------------------------------------- string/symbol tables ---

#[test]
fn strtab_outside_segments() {
    broken_lib(
        base(),
        "strtab_outside_segments/padding",
        &["DT_STRTAB"],
        |d| {
            let a = padding_addr(d, 0);
            set_dyn(d, DT_STRTAB, a);
        },
    );
    broken_lib(base(), "strtab_outside_segments/far", &["DT_STRTAB"], |d| {
        set_dyn(d, DT_STRTAB, 0x7fff_0000_0000)
    });
    // Starts inside its segment, DT_STRSZ runs past its end.
    broken_lib(
        base(),
        "strtab_outside_segments/strsz",
        &["DT_STRTAB"],
        |d| set_dyn(d, DT_STRSZ, 0x0100_0000),
    );
    // The address wraps around.
    broken_lib(
        base(),
        "strtab_outside_segments/wrap",
        &["DT_STRTAB"],
        |d| set_dyn(d, DT_STRTAB, u64::MAX - 4),
    );
}

#[test]
fn symtab_outside_segments() {
    broken_lib(
        base(),
        "symtab_outside_segments/padding",
        &["DT_SYMTAB"],
        |d| {
            let a = padding_addr(d, 0);
            set_dyn(d, DT_SYMTAB, a);
        },
    );
    broken_lib(base(), "symtab_outside_segments/far", &["DT_SYMTAB"], |d| {
        set_dyn(d, DT_SYMTAB, 0x7fff_0000_0000)
    });
    // The last 8 bytes of the first segment: not room for one symbol.
    broken_lib(
        base(),
        "symtab_outside_segments/straddle",
        &["DT_SYMTAB"],
        |d| {
            let l = loads(d);
            set_dyn(d, DT_SYMTAB, l[0].p_vaddr + l[0].p_memsz - 8);
        },
    );
}

/// The segment holding the dynamic symbol and string tables (and the hash
/// tables) made inaccessible: p_flags = 0 maps it PROT_NONE. Every table
/// address is inside a segment, so only the page protection stands between
/// guardld and a fault. guardld must refuse the library; the safety net's
/// message is accepted (the bounds checks only know segment ranges, not
/// their permissions: see docs/hardening.md).
#[test]
fn tables_in_unreadable_segment() {
    let c = Case::new(base(), "tables_in_unreadable_segment");
    patch(&c.lib(), |d| {
        let symtab = dyn_value(d, DT_SYMTAB);
        let p = loads(d)
            .into_iter()
            .find(|p| symtab >= p.p_vaddr && symtab < p.p_vaddr + p.p_memsz)
            .unwrap();
        assert_eq!(p.p_flags, 4, "tables not in a read-only segment");
        put_u32(d, p.at + 4, 0);
    });
    for via in BOTH {
        let o = start(via, &c.prog(), &[], &[]);
        println!("{via:?}: {}", o.stderr_str().trim_end());
        assert_refused_net(&o, &c.lib(), &[""], true);
    }
}

// ------------------------------------------------- DT_NEEDED not a file ---

/// libhv.so, where RUNPATH ($ORIGIN) finds it, is a directory / a FIFO
/// with no writer (opening it for reading without O_NONBLOCK would hang).
#[test]
fn needed_is_not_a_regular_file() {
    for kind in ["directory", "fifo"] {
        let c = Case::new(base(), &format!("needed_is_not_a_regular_file/{kind}"));
        std::fs::remove_file(c.lib()).unwrap();
        if kind == "directory" {
            std::fs::create_dir(c.lib()).unwrap();
        } else {
            let o = Command::new("mkfifo")
                .arg(c.lib())
                .output()
                .expect("run mkfifo");
            assert!(
                o.status.success(),
                "mkfifo: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        refused_both(&c.prog(), &c.lib(), &["not a regular file", "directory"]);
    }
}

// ------------------------------------------------ nothing runs on error ---

/// ifunc_prog + libhvifunc.so (an IFUNC whose resolver prints); the
/// library is then rebuilt with `lib_args` (the program links against the
/// intact one: lld refuses a library with undefined symbols).
fn ifunc_case(test: &str, lib_args: &[&str]) -> (PathBuf, PathBuf) {
    let rel = format!("hardening/{test}");
    let dir = out_dir(&rel);
    let lib = || {
        cc(&rel, "libhvifunc.so")
            .shared()
            .source("hardening/ifunc_lib.c")
            .arg("-Wl,-soname,libhvifunc.so")
    };
    lib().build();
    let prog = cc(&rel, "ifunc_prog")
        .pie()
        .interp(guardld())
        .source("hardening/ifunc_prog.c")
        .args([
            format!("-L{}", dir.display()),
            "-lhvifunc".into(),
            "-Wl,-rpath,$ORIGIN".into(),
        ])
        .build();
    (prog, lib().args(lib_args).build())
}

/// The IFUNC library links and its resolver runs once (the control for
/// the next test).
#[test]
fn ifunc_resolver_runs_when_linking_succeeds() {
    let (prog, _) = ifunc_case("ifunc_resolver_runs_when_linking_succeeds", &[]);
    for via in BOTH {
        assert_clean(&start(via, &prog, &[], &[]), "resolver ran\nhv_ifunc=7\n");
    }
}

/// libhvifunc.so calls hv_missing_fn, which no object defines: guardld
/// must refuse it (undefined symbol) without running any of its code. Its
/// IRELATIVE relocation is deferred until the object is relocated, and
/// the resolver then runs although the object already failed: "resolver
/// ran" on stdout before the 127. (glibc with LD_BIND_NOW=1 stops before
/// the resolver; lazily it runs it, then fails at the call.)
#[test]

fn no_ifunc_resolver_after_link_error() {
    let (prog, lib) = ifunc_case("no_ifunc_resolver_after_link_error", &["-DMISSING"]);
    refused_both(&prog, &lib, &["undefined symbol: hv_missing_fn"]);
}

// ---------------------------------------------------- no PT_PHDR (PIE) ---

/// hv_prog with its PT_PHDR entry turned into PT_NULL. The kernel still
/// passes AT_PHDR (load address + e_phoff); guardld finds the ELF header in
/// the segment mapping file offset 0, checks that its e_phoff names AT_PHDR,
/// and derives the bias from it. (glibc takes such a program as unrelocated
/// and its ld.so dies of SIGSEGV here.) Expected output written by hand: the
/// same as the unpatched program's, both ways.
fn pie_without_pt_phdr_case(test: &str) -> Case {
    let c = Case::new(base(), test);
    patch(&c.prog(), |d| {
        let p = phdrs(d)
            .into_iter()
            .find(|p| p.p_type == 6)
            .expect("no PT_PHDR");
        put_u32(d, p.at, 0);
    });
    c
}

#[test]
fn pie_without_pt_phdr() {
    let c = pie_without_pt_phdr_case("pie_without_pt_phdr");
    assert_clean(&start(Via::Explicit, &c.prog(), &[], &[]), WANT);
    assert_clean(&start(Via::Interp, &c.prog(), &[], &[]), WANT);
}

// ------------------------------------------------- fixed-address programs ---

/// hello as a static ET_EXEC linked at `addr` (GNU ld, -Ttext-segment).
fn hello_at(test: &str, addr: u64) -> PathBuf {
    let rel = format!("hardening/{test}");
    out_dir(&rel);
    Cc::new(&rel, "hello")
        .no_pie()
        .source("hello.c")
        .args(["-mcmodel=large", &format!("-Wl,-Ttext-segment={addr:#x}")])
        .build()
}

/// An ET_EXEC linked at address 0, run explicitly by an unprivileged user
/// (vm.mmap_min_addr forbids the page): refused, `cannot reserve address
/// space`. (Root may map page 0, and then it runs.)
#[test]
fn exec_at_address_zero() {
    if !is_root("exec_at_address_zero") {
        return;
    }
    let prog = hello_at("exec_at_address_zero", 0);
    std::fs::set_permissions(
        prog.parent().unwrap(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let o = run_with_timeout(
        command(guardld(), &[])
            .arg(&prog)
            .current_dir("/")
            .uid(NOBODY)
            .gid(NOBODY),
        REFUSE_TIMEOUT,
    );
    println!("{}", o.stderr_str().trim_end());
    assert_refused(&o, &prog, &["cannot reserve address space"]);
}

/// An ET_EXEC whose segments land on the main thread's stack (address
/// randomization off with `setarch -R`: the stack ends at 0x7ffffffff000;
/// the program is linked at 0x7fffffff0000). guardld maps ET_EXEC with
/// MAP_FIXED_NOREPLACE, so the stack is never clobbered: refused.
#[test]
fn exec_over_the_stack() {
    let prog = hello_at("exec_over_the_stack", 0x7fff_ffff_0000);
    let mut c = command("setarch", &[]);
    c.arg("-R").arg(guardld()).arg(&prog).current_dir("/");
    let o = run_with_timeout(&mut c, REFUSE_TIMEOUT);
    println!("{}", o.stderr_str().trim_end());
    assert_refused(&o, &prog, &["cannot reserve address space"]);
}

// ----------------------------------------------------------- truncation ---

/// Cut `file` (whose pristine bytes are `good`) at every 64-byte boundary
/// and run `prog` each time: below `needed_len` (headers and every
/// segment's file bytes) it must be refused naming `file`; from there on
/// (section headers, debug info) the run must be clean.
fn truncation_sweep(good: &[u8], file: &Path, prog: &Path, via: Via) -> (usize, usize) {
    let need = needed_len(good);
    let (mut refused, mut ran) = (0, 0);
    for len in (0..good.len()).step_by(64) {
        let tmp = file.with_extension("cut");
        std::fs::write(&tmp, &good[..len]).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, file).unwrap();
        let o = start(via, prog, &[], &[]);
        if len < need {
            assert_refused(&o, file, &[""]);
            refused += 1;
        } else {
            assert_clean(&o, WANT);
            ran += 1;
        }
    }
    std::fs::write(file, good).unwrap();
    (refused, ran)
}

/// The program cut at every 64-byte boundary, run as `guardld ./hv_prog`
/// (the kernel refuses to exec most cut programs itself, so PT_INTERP runs
/// would test the kernel).
#[test]
fn truncated_program_every_64_bytes() {
    let c = Case::new(base(), "truncated_program_every_64_bytes");
    let good = std::fs::read(c.prog()).unwrap();
    let (refused, ran) = truncation_sweep(&good, &c.prog(), &c.prog(), Via::Explicit);
    println!(
        "{} bytes, needed {}: {refused} refused, {ran} ran",
        good.len(),
        needed_len(&good)
    );
    assert!(refused > 0 && ran > 0);
}

/// libhv.so cut at every 64-byte boundary (a library shorter than its
/// segments claim, its headers cut, ...), both ways.
#[test]
fn truncated_library_every_64_bytes() {
    let c = Case::new(base(), "truncated_library_every_64_bytes");
    let good = std::fs::read(c.lib()).unwrap();
    for via in BOTH {
        let (refused, ran) = truncation_sweep(&good, &c.lib(), &c.prog(), via);
        println!(
            "{via:?}: {} bytes, needed {}: {refused} refused, {ran} ran",
            good.len(),
            needed_len(&good)
        );
        assert!(refused > 0 && ran > 0);
    }
}

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
    let (o, maps) = paused(
        command(&prog, &[("GUARDLD_TEST_PAUSE", "1")]).current_dir("/"),
        |pid| std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap(),
    );
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
    let vmas = parse_maps(&maps);
    let mine: Vec<&(u64, u64, String, String)> = vmas
        .iter()
        .filter(|v| v.3 == lib.display().to_string())
        .collect();
    assert!(!mine.is_empty(), "libhv.so not mapped:\n{maps}");
    let (lo, hi) = (
        mine.iter().map(|v| v.0).min().unwrap(),
        mine.iter().map(|v| v.1).max().unwrap(),
    );
    let gaps = vmas
        .iter()
        .filter(|v| v.0 >= lo && v.1 <= hi && v.2.starts_with("---p"))
        .count();
    println!(
        "libhv.so {lo:#x}-{hi:#x}: {} file VMAs, {gaps} PROT_NONE gaps",
        mine.len()
    );
    assert!(
        gaps >= 2,
        "padding not covered by PROT_NONE under VM_LOCKED:\n{maps}"
    );
}

/// A case of the base set plus mlock_prog (testbins/hardening/mlock_prog.c,
/// dlopen()s libhv.so from its own directory), linked against guardld.
fn dl_case(test: &str) -> (Case, PathBuf) {
    let c = Case::new(base(), test);
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
            let (at, n) = section(d, ".rela.dyn");
            let k = (0..n / 24)
                .map(|k| at + 24 * k)
                .find(|&e| u64_at(d, e + 8) & 0xffff_ffff == 8)
                .expect("no R_X86_64_RELATIVE");
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
        let symtab = dyn_value(d, DT_SYMTAB);
        let p = loads(d)
            .into_iter()
            .find(|p| symtab >= p.p_vaddr && symtab < p.p_vaddr + p.p_memsz)
            .unwrap();
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

/// (start, end, perms, path) of each line of /proc/PID/maps.
fn parse_maps(text: &str) -> Vec<(u64, u64, String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (range, perms) = (f.next()?, f.next()?);
            let path = f.nth(3).unwrap_or("").to_string();
            let (a, b) = range.split_once('-')?;
            Some((
                u64::from_str_radix(a, 16).ok()?,
                u64::from_str_radix(b, 16).ok()?,
                perms.to_string(),
                path,
            ))
        })
        .collect()
}

/// Run `cmd` (linked with testbins/rt, GUARDLD_TEST_PAUSE=1 in its
/// environment) until it pauses, call `look(pid)`, kill it.
fn paused<T>(cmd: &mut Command, look: impl FnOnce(u32) -> T) -> (Outcome, T) {
    let command = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.process_group(0);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {command}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let (tx, rx) = mpsc::channel::<String>();
    let t_err = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut r = BufReader::new(err);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
                    all.extend_from_slice(&line);
                }
            }
        }
        all
    });
    let mut seen = None;
    let mut look = Some(look);
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => {
                if let Some(pid) = line.trim_end().strip_prefix("rt: paused, pid ") {
                    let pid: u32 = pid.parse().unwrap();
                    seen = Some((look.take().unwrap())(pid));
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if start.elapsed() < RUN_TIMEOUT => {}
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let status = child.wait().expect("wait");
    let o = Outcome {
        command,
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
        timed_out: false,
        elapsed: start.elapsed(),
    };
    match seen {
        Some(s) => (o, s),
        None => panic!("the program never paused\n{}", o.describe()),
    }
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
    let c = Case::new(base(), "no_proc");
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
    let c = Case::new(base(), "library_truncated_while_loading");
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

// ===================================================== 3. security rules ===

/// uid and gid of `nobody`/`nogroup`. The privileged runs drop to them with
/// std's `CommandExt::uid`/`gid` (setgroups([]), setgid, setuid in the
/// child, as `setpriv --reuid --regid --clear-groups` does) and then exec
/// the setuid-root program directly: no glibc program in between, which
/// would itself honour LD_PRELOAD (it is not privileged) and muddle the
/// output.
const NOBODY: u32 = 65534;

/// The setuid bit on a root-owned test program, removed again when the
/// test ends (also when it fails): no setuid-root file is left behind in
/// target/.
struct Setuid(PathBuf);

impl Setuid {
    fn on(p: &Path) -> Setuid {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o4755)).unwrap();
        Setuid(p.to_path_buf())
    }
}

impl Drop for Setuid {
    fn drop(&mut self) {
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

/// A setuid-root copy of hv_prog_abs (RUNPATH = the pristine set's absolute
/// directory, as is libhv.so's) run as nobody: AT_SECURE. LD_LIBRARY_PATH
/// names a directory with an impostor libhv.so (-DEVIL), LD_PRELOAD a
/// library whose constructor prints, GUARDLD_PADDING=extend would make
/// padding readable, GUARDLD_DEBUG=all would print guardld's debug output.
/// Under AT_SECURE all four are ignored: the library comes from RUNPATH,
/// nothing is preloaded, libhv's padding stays guarded (pagemap guard bit,
/// a read faults), stderr stays empty. The same environment without
/// AT_SECURE (the copy run by root, not setuid) shows each variable works.
#[test]
fn at_secure_ignores_the_environment() {
    if !is_root("at_secure_ignores_the_environment") {
        return;
    }
    let c = Case::new(abs(), "at_secure_ignores_the_environment");
    let rel = "hardening/at_secure_ignores_the_environment";
    let evil_dir = c.dir.join("evil");
    std::fs::create_dir_all(&evil_dir).unwrap();
    cc(rel, "evil/libhv.so")
        .shared()
        .source("hardening/hv_lib.c")
        .arg("-DEVIL")
        .arg("-Wl,-soname,libhv.so")
        .build();
    let pre = cc(rel, "libhvpre.so")
        .shared()
        .source("hardening/preload.c")
        .build();
    // The setuid copy: hv_prog_abs finds the pristine set's libhv.so, which
    // finds libhvdep.so by its own absolute RUNPATH.
    let prog = c.dir.join("hv_prog_abs");
    let (uid, gid) = (NOBODY, NOBODY);
    let env: Vec<(&str, String)> = vec![
        ("LD_LIBRARY_PATH", evil_dir.display().to_string()),
        ("LD_PRELOAD", pre.display().to_string()),
        ("GUARDLD_PADDING", "extend".into()),
        ("GUARDLD_DEBUG", "all".into()),
    ];
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The padding after libhv's text segment, relative to hv_fn.
    let lib_bytes = std::fs::read(abs().lib()).unwrap();
    let (_, hv_fn) = dynsym(&lib_bytes, "hv_fn");
    let off = (padding_addr(&lib_bytes, 1) as i64 - hv_fn as i64).to_string();

    // Without AT_SECURE (root runs the copy, not yet setuid): each
    // variable alone takes effect.
    let plain = |var: usize, args: &[&str]| {
        run(command(&prog, &env_ref[var..var + 1])
            .args(args)
            .current_dir("/"))
    };
    let o = plain(0, &[]);
    o.assert_code(0);
    assert!(
        o.stdout_str().contains("EVIL copy"),
        "LD_LIBRARY_PATH ignored without AT_SECURE\n{}",
        o.describe()
    );
    let o = plain(1, &[]);
    o.assert_code(0);
    assert!(
        o.stdout_str().contains("PRELOADED"),
        "LD_PRELOAD ignored without AT_SECURE\n{}",
        o.describe()
    );
    let o = plain(2, &["probe", &off]);
    o.assert_code(0);
    assert!(
        o.stdout_str().contains("guard=0\nread=ok\n"),
        "GUARDLD_PADDING=extend ignored without AT_SECURE\n{}",
        o.describe()
    );
    let o = plain(3, &[]);
    o.assert_code(0);
    assert!(
        o.stderr_str().contains("guardld: "),
        "GUARDLD_DEBUG=all printed nothing without AT_SECURE\n{}",
        o.describe()
    );
    // And the probe tells a guarded page from a readable one.
    let o = run(command(&prog, &[]).args(["probe", &off]).current_dir("/"));
    assert!(
        o.stdout_str().contains("guard=1\nread=SIGSEGV\n"),
        "default padding not guarded\n{}",
        o.describe()
    );

    // setuid root, run as nobody.
    let _setuid = Setuid::on(&prog);
    let secure = |args: &[&str]| {
        run(command(&prog, &env_ref)
            .args(args)
            .current_dir("/")
            .uid(uid)
            .gid(gid))
    };
    let o = secure(&["ids"]);
    o.assert_code(0)
        .assert_stdout("libhv init\nuid=65534\neuid=0\nat_secure=1\nhv_fn=42\nhv_data=5\n");
    assert!(
        o.stderr.is_empty(),
        "debug output (or an error) under AT_SECURE\n{}",
        o.describe()
    );
    let o = secure(&["probe", &off]);
    o.assert_code(0);
    let out = o.stdout_str();
    assert!(
        !out.contains("PRELOADED") && !out.contains("EVIL"),
        "{}",
        o.describe()
    );
    assert!(
        out.contains("guard=1\n") && out.contains("read=SIGSEGV\n"),
        "padding not guarded under AT_SECURE\n{}",
        o.describe()
    );
    assert!(o.stderr.is_empty(), "{}", o.describe());
}

/// Under AT_SECURE a relative RUNPATH and a $ORIGIN RUNPATH are not
/// searched: libhv.so is not found (127), where the same programs run
/// without AT_SECURE.
#[test]
fn at_secure_ignores_relative_and_origin_runpath() {
    if !is_root("at_secure_ignores_relative_and_origin_runpath") {
        return;
    }
    let c = Case::new(base(), "at_secure_ignores_relative_and_origin_runpath");
    let rel = "hardening/at_secure_ignores_relative_and_origin_runpath";
    let l = format!("-L{}", base().dir.display());
    // RUNPATH "lib": relative to the working directory, which holds lib/.
    let relprog = cc(rel, "hv_prog_rel")
        .pie()
        .interp(guardld())
        .source("hardening/hv_prog.c")
        .args([&l, "-lhv", "-Wl,-rpath,lib"])
        .build();
    let libdir = c.dir.join("lib");
    std::fs::create_dir_all(&libdir).unwrap();
    for f in ["libhv.so", "libhvdep.so"] {
        std::fs::copy(base().dir.join(f), libdir.join(f)).unwrap();
    }
    for prog in [relprog, c.prog()] {
        let o = run(command(&prog, &[]).current_dir(&c.dir));
        assert_clean(&o, WANT);
        let _setuid = Setuid::on(&prog);
        let o = run(command(&prog, &[])
            .current_dir(&c.dir)
            .uid(NOBODY)
            .gid(NOBODY));
        println!("{}: {}", prog.display(), o.stderr_str().trim_end());
        assert_no_crash(&o);
        o.assert_code(127)
            .assert_stderr_contains("cannot find shared object libhv.so");
        assert!(o.stdout.is_empty(), "{}", o.describe());
    }
}

/// RELRO: a write to a RELRO variable of libhv.so (hv_relro_ptr, in
/// .data.rel.ro) after start-up faults: SIGSEGV in the program, after
/// main has started. In every padding mode, both ways.
#[test]
fn relro_write_faults() {
    let c = Case::new(base(), "relro_write_faults");
    for padding in ["guard", "prot-none", "extend"] {
        for via in BOTH {
            let o = start_timeout(
                via,
                &c.prog(),
                &["relro"],
                &[("GUARDLD_PADDING", padding)],
                RUN_TIMEOUT,
            );
            assert_eq!(
                o.signal(),
                Some(11),
                "{padding} {via:?}: no SIGSEGV\n{}",
                o.describe()
            );
            assert_eq!(
                o.stdout_str(),
                "libhv init\nbefore write\n",
                "{padding} {via:?}\n{}",
                o.describe()
            );
        }
    }
}

/// W^X: no mapping of the paused program (its libraries, guardld's own
/// memory, stacks, heaps) is writable and executable at once, in every
/// padding mode, both ways.
#[test]
fn no_writable_executable_mapping() {
    let c = Case::new(base(), "no_writable_executable_mapping");
    for padding in ["guard", "prot-none", "extend"] {
        for via in BOTH {
            let env = [("GUARDLD_TEST_PAUSE", "1"), ("GUARDLD_PADDING", padding)];
            let mut cmd = match via {
                Via::Explicit => {
                    let mut x = command(guardld(), &env);
                    x.arg(c.prog());
                    x
                }
                Via::Interp => command(c.prog(), &env),
            };
            cmd.current_dir("/");
            let (o, maps) = paused(&mut cmd, |pid| {
                std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap()
            });
            assert_eq!(o.stdout_str(), WANT, "{}", o.describe());
            let g = guardld().display().to_string();
            assert!(
                maps.contains(&g),
                "guardld's own mappings not in maps:\n{maps}"
            );
            for v in parse_maps(&maps) {
                let p = v.2.as_bytes();
                assert!(
                    !(p[1] == b'w' && p[2] == b'x'),
                    "{padding} {via:?}: W+X mapping {v:x?}\n{maps}"
                );
            }
        }
    }
}
