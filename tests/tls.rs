//! Issue "thread-local storage": guardld's TLS variant II (loader/src/tls.rs,
//! docs/threads.md). The executable's own `__thread` variables, three
//! libraries using the initial-exec, general-dynamic and TLSDESC models, the
//! TCB (%fs:0 = its own address, canary at %fs:0x28), module blocks below
//! the thread pointer, a 64-byte-aligned block, threads made with raw
//! clone(2) on `guardld_tls_alloc()` areas, relocated `.tdata` images and
//! interposed TLS symbols, TLS of dlopen'd libraries (the static surplus),
//! malformed PT_TLS headers, and a Go PIE (when `go` is installed).
//!
//! Expected values are written here by hand: glibc's ld.so cannot be the
//! reference (a libc-less program calling `__tls_get_addr` or
//! `guardld_tls_alloc` crashes under it). Each constant says where its
//! numbers come from; the C sources are in testbins/tls/.
//!
//! Run: `cargo test --release --test tls` from the workspace root.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Flags for every TLS library: mod.c's loops must not become memset/memcpy
/// calls (a library has no libc to get them from).
const LIB_FLAGS: &[&str] = &["-fno-tree-loop-distribute-patterns"];

// ------------------------------------------------------------ building ----

/// The main TLS program and its three libraries, built once per test
/// process and linker into target/itest/testbins/tls/main_<linker>/.
struct MainProg {
    exe: PathBuf,
    ie: PathBuf,
    gd: PathBuf,
    desc: PathBuf,
}

fn build_main(name: &str, linker: Linker) -> MainProg {
    let dir = out_dir(name);
    let lib = |file: &str, model: &[&str]| {
        Cc::new(name, file)
            .source("tls/mod.c")
            .shared()
            .linker(linker)
            .args(LIB_FLAGS)
            .args(model)
            .arg(format!("-Wl,-soname,{file}"))
            .build()
    };
    // INIT values 0x1100/0x2200/0x3300: see tls.h (data = INIT+1 ...).
    let ie = lib("libtie.so", &["-DMOD=ie", "-DINIT=0x1100", "-ftls-model=initial-exec"]);
    // GD calls __tls_get_addr: linked against glibc's ld.so, as a real
    // library would be; its NEEDED ld-linux-x86-64.so.2 is guardld.
    let gd = lib("libtgd.so", &["-DMOD=gd", "-DINIT=0x2200", GLIBC_LD]);
    let desc = lib("libtdesc.so", &["-DMOD=desc", "-DINIT=0x3300", "-mtls-dialect=gnu2"]);
    let exe = Cc::new(name, "tls")
        .source("tls/main.c")
        .source("tls/clone.c")
        .source("rt/thread.c")
        .pie()
        .linker(linker)
        .interp(guardld())
        .arg(format!("-L{}", dir.display()))
        .args(["-ltie", "-ltgd", "-ltdesc", "-Wl,-rpath,$ORIGIN"]);
    let exe = match linker {
        // guardld_tls_alloc/free are weak references (tls.h) bound at run
        // time to guardld's exports, always in the global scope.
        Linker::Bfd => exe.arg("-Wl,-z,dynamic-undefined-weak"),
        // lld links against the guardld binary itself (include/guardld.h):
        // NEEDED ld-guardld.so.1, which guardld resolves to itself.
        Linker::Lld => exe.arg("-DTHREAD_API_STRONG").arg(guardld()),
    }
    .build();
    MainProg { exe, ie, gd, desc }
}

/// Linked with GNU ld (bfd).
fn main_prog() -> &'static MainProg {
    static P: OnceLock<MainProg> = OnceLock::new();
    P.get_or_init(|| build_main("tls/main_bfd", Linker::Bfd))
}

/// Linked with rust-lld: its own local-exec offsets and TLS layout choices.
fn main_prog_lld() -> &'static MainProg {
    static P: OnceLock<MainProg> = OnceLock::new();
    P.get_or_init(|| build_main("tls/main_lld", Linker::Lld))
}

/// Run `prog` with no environment and `dir` as the working directory:
/// through its PT_INTERP, or explicitly as `guardld ./prog`.
fn run_prog(prog: &Path, explicit: bool) -> Outcome {
    let dir = prog.parent().unwrap();
    let rel = format!("./{}", prog.file_name().unwrap().to_str().unwrap());
    let mut c = if explicit {
        let mut c = command(guardld(), &[]);
        c.arg(&rel);
        c
    } else {
        command(&rel, &[])
    };
    c.current_dir(dir);
    run(&mut c)
}

/// The main program's run (PT_INTERP), checked for a clean exit.
fn main_run() -> Outcome {
    let o = run_prog(&main_prog().exe, false);
    o.assert_code(0)
        .assert_stderr("nothing on stderr", |s| s.is_empty());
    o
}

/// Assert that every line of `want` is a whole line of the run's stdout.
#[track_caller]
fn assert_lines(o: &Outcome, want: &str) {
    let out = o.stdout_str();
    let have: Vec<&str> = out.lines().collect();
    for w in want.lines() {
        if !have.contains(&w) {
            panic!("stdout lacks the line {w:?}\n{}", o.describe());
        }
    }
}

// ----------------------------------------------------- expected output ----

/// The executable's variables (main.c): exe_data = 0xe01, exe_arr =
/// {0xe02, 0xe03, 0xe04} in .tdata; exe_bss, exe_bss_arr[4] in .tbss (0).
/// They are local-exec accesses: fixed offsets from %fs the linker chose, so
/// the loader must put the image exactly where module 1 belongs. Then
/// exe_set(0x5e00) stores 0x5e00 + k into the k-th variable.
const EXE_LINES: &str = "\
exe_init=0xe01 0xe02 0xe03 0xe04 0x0 0x0 0x0 0x0 0x0
exe_written=0x5e00 0x5e01 0x5e02 0x5e03 0x5e04 0x5e05 0x5e06 0x5e07 0x5e08
";

/// The libraries (mod.c, tls.h): with INIT = 0x1100 (ie), 0x2200 (gd),
/// 0x3300 (desc) the dump is data=INIT+1, data2=INIT+2..INIT+4, the static
/// local=INIT+5 (.tdata), then bss, bss2[5], the static local_bss (.tbss:
/// 7 zeros). MOD_set(v) stores v+k into the k-th; main sets 0x7100, 0x7200,
/// 0x7300. direct_*: the executable's own initial-exec reads of ie_data,
/// gd_data, desc_data (TPOFF64 relocations in the executable against the
/// libraries' symbols) agree in value and address.
const LIB_LINES: &str = "\
ie_init=0x1101 0x1102 0x1103 0x1104 0x1105 0x0 0x0 0x0 0x0 0x0 0x0 0x0
gd_init=0x2201 0x2202 0x2203 0x2204 0x2205 0x0 0x0 0x0 0x0 0x0 0x0 0x0
desc_init=0x3301 0x3302 0x3303 0x3304 0x3305 0x0 0x0 0x0 0x0 0x0 0x0 0x0
direct_init=0x1101 0x2201 0x3301
direct_addr_same=1 1 1
ie_written=0x7100 0x7101 0x7102 0x7103 0x7104 0x7105 0x7106 0x7107 0x7108 0x7109 0x710a 0x710b
gd_written=0x7200 0x7201 0x7202 0x7203 0x7204 0x7205 0x7206 0x7207 0x7208 0x7209 0x720a 0x720b
desc_written=0x7300 0x7301 0x7302 0x7303 0x7304 0x7305 0x7306 0x7307 0x7308 0x7309 0x730a 0x730b
direct_written=0x7100 0x7200 0x7300
";

/// .tdata holding pointers (exe_ptr = &exe_target, MOD_ptr = &MOD_target,
/// static MOD_local_ptr): the images are relocated before any block is
/// filled. tls_interposed is defined by the executable (0xe0f) and by each
/// library (INIT+0xf0): the libraries' IE, GD and TLSDESC references all
/// bind to the executable's, the first definition in the global scope.
const RELOC_LINES: &str = "\
tdata_pointers=1 1 1 1
interposed=0xe0f 0xe0f 0xe0f
interposed_addr_same=1 1 1
";

/// Block placement (variant II), main thread: every module's variables
/// (exe, ie, gd, desc) end at or below tp and within 1 MiB of it; the
/// executable's block is the nearest; no two blocks overlap.
const BLOCK_LINES: &str = "\
below_tp=1 1 1 1
exe_nearest_tp=1
blocks_disjoint=1
";

/// The TCB: `mov %fs:0` and `__builtin_thread_pointer()` both equal the %fs
/// base the kernel reports (arch_prctl ARCH_GET_FS).
const TCB_LINES: &str = "\
fs0_is_fs_base=1
builtin_is_fs_base=1
canary_nonzero=1
";

/// Threads (main.c thread_main): thread i stores i*0x100000 plus 0xe000
/// (exe), 0x1000 (ie), 0x2000 (gd) or 0x3000 (desc) and reads back the first
/// variable of each after all four have written. init: its blocks started
/// with the initial images although main had overwritten its own; own: all
/// 9 + 3*12 variables hold its values; direct: the executable's IE view of
/// the libraries' variables matches theirs in the thread; fs0/fs_base: %fs:0
/// and the kernel's %fs base are the guardld_tls_alloc() pointer; canary:
/// copied from the creating thread; below_tp: its blocks below its tp;
/// separate: disjoint from each other and from the main thread's blocks;
/// ptrs: the .tdata pointers (RELOC_LINES) hold in its copies; interposed:
/// the libraries' tls_interposed is the executable's, in the thread too.
/// Then main's values are unchanged, the four areas are freed, and a fresh
/// area has its TCB self pointer, the canary and the initial images.
const THREAD_LINES: &str = "\
thread1=0x10e000 0x101000 0x102000 0x103000 init=1 own=1 barrier=1 direct=1 fs0=1 fs_base=1 canary=1 below_tp=1 separate=1 ptrs=1 interposed=1
thread2=0x20e000 0x201000 0x202000 0x203000 init=1 own=1 barrier=1 direct=1 fs0=1 fs_base=1 canary=1 below_tp=1 separate=1 ptrs=1 interposed=1
thread3=0x30e000 0x301000 0x302000 0x303000 init=1 own=1 barrier=1 direct=1 fs0=1 fs_base=1 canary=1 below_tp=1 separate=1 ptrs=1 interposed=1
thread4=0x40e000 0x401000 0x402000 0x403000 init=1 own=1 barrier=1 direct=1 fs0=1 fs_base=1 canary=1 below_tp=1 separate=1 ptrs=1 interposed=1
main_unchanged=1
freed=4
alloc_self=1
alloc_canary=1
alloc_init=0xe01 0x1101 0x2201 0x3301
main_unchanged_end=1
";

/// The whole stdout of the main program, in order, less the `canary=` line
/// (random: see [`canary_random_per_run`]).
fn main_expected() -> String {
    let (exe, lib) = (EXE_LINES, LIB_LINES);
    let l = |s: &'static str, i: usize| s.lines().nth(i).unwrap();
    let mut v = vec![l(exe, 0)];
    v.extend(lib.lines().take(5)); // *_init, direct_init, direct_addr_same
    v.extend(RELOC_LINES.lines());
    v.extend(TCB_LINES.lines());
    v.extend(BLOCK_LINES.lines());
    v.push(l(exe, 1));
    v.extend(lib.lines().skip(5)); // *_written, direct_written
    v.extend(THREAD_LINES.lines());
    v.iter().map(|s| format!("{s}\n")).collect()
}

fn without_canary(s: &str) -> String {
    take_keys(s, &["canary"]).0
}

fn canary_of(o: &Outcome) -> u64 {
    let (_, kv) = take_keys(&o.stdout_str(), &["canary"]);
    let v = kv
        .first()
        .unwrap_or_else(|| panic!("no canary= line\n{}", o.describe()))
        .1
        .clone();
    u64::from_str_radix(v.trim_start_matches("0x"), 16)
        .unwrap_or_else(|e| panic!("canary={v}: {e}\n{}", o.describe()))
}

// ------------------------------------------------------ main program ----

/// How the program and its libraries were linked: the access models the
/// tests claim to exercise are really in the binaries.
#[test]
fn linked_with_each_model() {
    let p = main_prog();
    let relocs = |f: &Path| readelf(&["-rW", "-d", "-lW"], f);
    let ie = relocs(&p.ie);
    assert!(ie.contains("R_X86_64_TPOFF64") && ie.contains("STATIC_TLS"), "libtie.so: no IE:\n{ie}");
    assert!(!ie.contains("DTPMOD64") && !ie.contains("TLSDESC"), "libtie.so: not IE only:\n{ie}");
    let gd = relocs(&p.gd);
    for w in ["R_X86_64_DTPMOD64", "R_X86_64_DTPOFF64", "__tls_get_addr", "[ld-linux-x86-64.so.2]"] {
        assert!(gd.contains(w), "libtgd.so lacks {w}:\n{gd}");
    }
    assert!(!gd.contains("R_X86_64_TPOFF64") && !gd.contains("R_X86_64_TLSDESC"), "libtgd.so: not GD only:\n{gd}");
    let desc = relocs(&p.desc);
    assert!(desc.contains("R_X86_64_TLSDESC"), "libtdesc.so: no TLSDESC:\n{desc}");
    assert!(!desc.contains("DTPMOD64") && !desc.contains("R_X86_64_TPOFF64"), "libtdesc.so: not TLSDESC only:\n{desc}");
    let exe = relocs(&p.exe);
    for w in ["TLS ", "R_X86_64_TPOFF64", "ie_data", "gd_data", "desc_data", "guardld_tls_alloc"] {
        assert!(exe.contains(w), "tls lacks {w}:\n{exe}");
    }
    let interp = format!("[Requesting program interpreter: {}]", guardld().display());
    assert!(exe.contains(&interp), "tls: PT_INTERP is not guardld:\n{exe}");
    assert!(!exe.contains("[ld-guardld.so.1]"), "bfd's tls should bind the thread API without NEEDED:\n{exe}");
    let lld = relocs(&main_prog_lld().exe);
    assert!(lld.contains("[ld-guardld.so.1]"), "lld's tls lacks NEEDED ld-guardld.so.1:\n{lld}");
}

fn whole_output(p: &MainProg) {
    let want = main_expected();
    for explicit in [false, true] {
        let o = run_prog(&p.exe, explicit);
        o.assert_code(0)
            .assert_stderr("nothing on stderr", |s| s.is_empty());
        let got = without_canary(&o.stdout_str());
        if got != want {
            panic!(
                "stdout (less canary=) differs (explicit: {explicit})\n--- diff (- want, + got) ---\n{}\n{}",
                line_diff(&want, &got),
                o.describe()
            );
        }
    }
}

/// The whole output, through PT_INTERP and explicitly (`guardld ./tls`).
#[test]
fn main_program_whole_output() {
    whole_output(main_prog());
}

/// The same program and libraries linked by rust-lld.
#[test]
fn main_program_whole_output_lld() {
    whole_output(main_prog_lld());
}

/// Relocated .tdata images and interposed TLS symbols.
#[test]
fn tdata_pointers_and_interposition() {
    assert_lines(&main_run(), RELOC_LINES);
}

/// `__thread` in the PIE: initial .tdata values and .tbss zeros, then writes
/// read back.
#[test]
fn executable_tls_read_and_written() {
    assert_lines(&main_run(), EXE_LINES);
}

/// IE, GD and TLSDESC libraries: initial values, zeroed .tbss, writes, and
/// the executable's direct view.
#[test]
fn library_tls_ie_gd_tlsdesc() {
    assert_lines(&main_run(), LIB_LINES);
}

/// Module blocks below the thread pointer, the executable's nearest, no
/// overlaps.
#[test]
fn module_blocks_below_tp_and_distinct() {
    assert_lines(&main_run(), BLOCK_LINES);
}

/// %fs:0 is the TCB's own address.
#[test]
fn tcb_self_pointer() {
    assert_lines(&main_run(), TCB_LINES);
}

/// %fs:0x28 comes from AT_RANDOM: nonzero, different from one run to the
/// next (64 random bits less the low byte: equal only by a 2^-56 chance),
/// low byte zero (glibc's choice, kept by guardld: a string overflow cannot
/// write the canary).
#[test]
fn canary_random_per_run() {
    let a = main_run();
    let b = main_run();
    let (ca, cb) = (canary_of(&a), canary_of(&b));
    assert_ne!(ca, 0, "canary is zero\n{}", a.describe());
    assert_eq!(ca & 0xff, 0, "canary low byte not zero\n{}", a.describe());
    assert_ne!(ca, cb, "same canary in two runs\n{}\n{}", a.describe(), b.describe());
}

/// Four raw clone(2) threads on guardld_tls_alloc() areas.
#[test]
fn four_raw_clone_threads() {
    assert_lines(&main_run(), THREAD_LINES);
}

// --------------------------------------------------------------- dlopen ----

/// testbins/tls/dlopen.c in its own directory with copies of the main
/// program's three libraries (not linked in: dlopen'd), built once.
fn dlopen_prog() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let name = "tls/dlopen";
        let dir = out_dir(name);
        let m = main_prog();
        for lib in [&m.ie, &m.gd, &m.desc] {
            std::fs::copy(lib, dir.join(lib.file_name().unwrap())).unwrap();
        }
        Cc::new(name, "dlopen")
            .source("tls/dlopen.c")
            .source("tls/clone.c")
            .source("rt/thread.c")
            .pie()
            .interp(guardld())
            .arg("-Wl,-z,dynamic-undefined-weak")
            .build()
    })
}

/// The `*_ptrs` lines of dlopen's output (see [`dlopen_tls_tdata_relocated`]).
const DLOPEN_PTRS: &[&str] = &["main_ptrs", "thread_a_ptrs", "thread_b_ptrs"];

/// TLS of dlopen'd libraries (IE, GD, TLSDESC) goes into the static surplus:
/// initial values in the main thread, in thread A (whose area existed before
/// the dlopen calls: guardld fills the new blocks in every live area, and
/// A's GD accesses reach modules past its DTV) and in thread B (allocated
/// after); each thread's writes stay its own (main 0x50000, A 0xa0000,
/// B 0xb0000, + 0x1000 per library).
#[test]
fn dlopen_tls_in_surplus() {
    let o = run_prog(dlopen_prog(), false);
    o.assert_code(0)
        .assert_stderr("nothing on stderr", |s| s.is_empty());
    let want = "\
dlopen=1 1 1
main_init=1 1 1
main_own=1
thread_a_init=1 1 1
thread_a_own=1
thread_b_init=1 1 1
thread_b_own=1
main_unchanged=1
";
    let got = take_keys(&o.stdout_str(), DLOPEN_PTRS).0;
    if got != want {
        panic!("stdout (less *_ptrs) differs\n{}\n{}", line_diff(want, &got), o.describe());
    }
}

/// A dlopen'd library's .tdata holding pointers (mod.c: MOD_ptr =
/// &MOD_target, a R_X86_64_64; static MOD_local_ptr, a RELATIVE) must be
/// relocated before it is copied into the live threads' blocks, as at
/// startup (tdata_pointers_and_interposition) and as glibc does.
#[test]

fn dlopen_tls_tdata_relocated() {
    let o = run_prog(dlopen_prog(), false);
    o.assert_code(0);
    assert_lines(&o, "main_ptrs=1 1 1\nthread_a_ptrs=1 1 1\nthread_b_ptrs=1 1 1\n");
}

/// dlclose of a TLS library (libtgd.so), then guardld_tls_alloc() and a
/// thread on the new area: the closed library's image must not be copied.
#[test]

fn dlclose_then_tls_alloc() {
    let dir = dlopen_prog().parent().unwrap().to_path_buf();
    let exe = Cc::new("tls/dlopen", "dlclose")
        .source("tls/dlclose.c")
        .source("tls/clone.c")
        .source("rt/thread.c")
        .pie()
        .interp(guardld())
        .arg("-Wl,-z,dynamic-undefined-weak")
        .build();
    assert_eq!(exe.parent().unwrap(), dir);
    run_prog(&exe, false)
        .assert_code(0)
        .assert_stdout("dlclose=0\nalloc_ok=1\nthread_ok=1\n");
}

// ------------------------------------------------------------ alignment ----

/// libtal64.so's block (`__thread char x[64] __attribute__((aligned(64)))`,
/// p_align 0x40) after a one-byte executable block: 64-aligned in the main
/// thread and in a clone(2) thread, with its .tdata image (64 characters) and
/// .tbss zero; the thread's block sits at the same offset from its tp.
#[test]
fn aligned_64_block() {
    let name = "tls/align";
    let dir = out_dir(name);
    let lib = Cc::new(name, "libtal64.so")
        .source("tls/al64.c")
        .shared()
        .args(LIB_FLAGS)
        .arg(GLIBC_LD)
        .build();
    let ph = readelf(&["-lW"], &lib);
    assert!(
        ph.lines().any(|l| l.trim_start().starts_with("TLS ") && l.trim_end().ends_with("0x40")),
        "libtal64.so's PT_TLS is not 64-aligned:\n{ph}"
    );
    let exe = Cc::new(name, "align")
        .source("tls/align.c")
        .source("tls/clone.c")
        .source("rt/thread.c")
        .pie()
        .interp(guardld())
        .arg(format!("-L{}", dir.display()))
        .args(["-ltal64", "-Wl,-rpath,$ORIGIN", "-Wl,-z,dynamic-undefined-weak"])
        .build();
    let x = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
    let want = format!(
        "tp_mod64=0\nx_mod64=0\nx_below_tp=1\nx={x}\ny=0x0\nexe_c=e\n\
         thread_tp_is_alloc=1\nthread_x_mod64=0\nthread_x_offset_same=1\nthread_x={x}\nthread_y=0x0\n"
    );
    for explicit in [false, true] {
        run_prog(&exe, explicit)
            .assert_code(0)
            .assert_stdout(&want)
            .assert_stderr("nothing on stderr", |s| s.is_empty());
    }
}

// ------------------------------------------------------ malformed PT_TLS ----

/// One ELF64 program header: its file offset and fields.
#[derive(Clone, Copy, Debug)]
struct Phdr {
    at: usize,
    p_type: u32,
    p_vaddr: u64,
    p_filesz: u64,
    p_memsz: u64,
}

const PT_LOAD: u32 = 1;
const PT_TLS: u32 = 7;
// Field offsets inside an Elf64_Phdr.
const P_VADDR: usize = 16;
const P_FILESZ: usize = 32;
const P_MEMSZ: usize = 40;
const P_ALIGN: usize = 48;

fn rd16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn rd32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn rd64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn wr64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn phdrs(b: &[u8]) -> Vec<Phdr> {
    assert_eq!(&b[..5], b"\x7fELF\x02", "not ELF64");
    let (phoff, phentsize, phnum) = (rd64(b, 0x20) as usize, rd16(b, 0x36) as usize, rd16(b, 0x38) as usize);
    (0..phnum)
        .map(|i| {
            let at = phoff + i * phentsize;
            Phdr {
                at,
                p_type: rd32(b, at),
                p_vaddr: rd64(b, at + P_VADDR),
                p_filesz: rd64(b, at + P_FILESZ),
                p_memsz: rd64(b, at + P_MEMSZ),
            }
        })
        .collect()
}

/// libtbad.so and badprog (prints `bad_v=0x5a`), built once.
fn bad_prog() -> &'static (PathBuf, PathBuf) {
    static P: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    P.get_or_init(|| {
        let name = "tls/bad";
        let dir = out_dir(name);
        let lib = Cc::new(name, "libtbad.so")
            .source("tls/badlib.c")
            .shared()
            .arg("-ftls-model=initial-exec")
            .build();
        let exe = Cc::new(name, "badprog")
            .source("tls/badprog.c")
            .pie()
            .interp(guardld())
            .arg(format!("-L{}", dir.display()))
            .args(["-ltbad", "-Wl,-rpath,$ORIGIN"])
            .build();
        (exe, lib)
    })
}

/// Copy badprog and libtbad.so into tls/bad_<case>/, with `patch` applied to
/// the library's PT_TLS (given the bytes, the PT_TLS and the PT_LOAD that
/// holds it); run `guardld ./badprog` there.
fn bad_case(case: &str, patch: impl FnOnce(&mut Vec<u8>, Phdr, Phdr)) -> Outcome {
    let (exe, lib) = bad_prog();
    let dir = out_dir(&format!("tls/bad_{case}"));
    let mut b = std::fs::read(lib).unwrap();
    let ph = phdrs(&b);
    let tls = *ph.iter().find(|p| p.p_type == PT_TLS).expect("libtbad.so has no PT_TLS");
    let seg = *ph
        .iter()
        .find(|p| p.p_type == PT_LOAD && p.p_vaddr <= tls.p_vaddr && tls.p_vaddr + tls.p_memsz <= p.p_vaddr + p.p_memsz)
        .expect("no PT_LOAD holds libtbad.so's PT_TLS");
    patch(&mut b, tls, seg);
    std::fs::write(dir.join("libtbad.so"), &b).unwrap();
    let prog = dir.join("badprog");
    std::fs::copy(exe, &prog).unwrap();
    run_prog(&prog, true)
}

/// guardld refuses the library: exit 127 (not a signal), no output from the
/// program, a message naming the library and PT_TLS.
#[track_caller]
fn assert_refused(o: &Outcome) {
    o.assert_code(127)
        .assert_stdout("")
        .assert_stderr_contains("libtbad.so")
        .assert_stderr_contains("PT_TLS");
}

/// The unpatched copy runs: the refusals below are the patches' doing.
#[test]
fn malformed_pt_tls_control() {
    bad_case("control", |_, _, _| {}).assert_code(0).assert_stdout("bad_v=0x5a\n");
}

#[test]
fn malformed_pt_tls_filesz_gt_memsz() {
    assert_refused(&bad_case("filesz_gt_memsz", |b, tls, _| {
        wr64(b, tls.at + P_FILESZ, tls.p_memsz + 8);
    }));
}

#[test]
fn malformed_pt_tls_align_3() {
    assert_refused(&bad_case("align_3", |b, tls, _| wr64(b, tls.at + P_ALIGN, 3)));
}

/// p_vaddr moved 64 KiB past the end of the library's last byte (its
/// segment, page-rounded).
#[test]
fn malformed_pt_tls_vaddr_past_segment() {
    assert_refused(&bad_case("vaddr_past_segment", |b, tls, seg| {
        let end = (seg.p_vaddr + seg.p_memsz + 0xfff) & !0xfff;
        assert!(tls.p_filesz > 0);
        wr64(b, tls.at + P_VADDR, end + 0x10000);
    }));
}

/// p_filesz (and p_memsz, to keep filesz <= memsz) running 64 KiB past the
/// end of the segment holding the image.
#[test]
fn malformed_pt_tls_filesz_past_segment() {
    assert_refused(&bad_case("filesz_past_segment", |b, tls, seg| {
        let end = (seg.p_vaddr + seg.p_memsz + 0xfff) & !0xfff;
        let n = end - tls.p_vaddr + 0x10000;
        wr64(b, tls.at + P_FILESZ, n);
        wr64(b, tls.at + P_MEMSZ, n);
    }));
}

// -------------------------------------------------------------------- Go ----

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A trivial Go program (testbins/tls/go/hello.go) built as a PIE with
/// PT_INTERP = guardld, run through PT_INTERP and explicitly. Go's runtime
/// keeps its g at %fs:-8, sets %fs itself and creates its threads itself
/// (goroutines on several threads). Expected output by hand: argc less one,
/// and the sums 0..=1000*(i+1) for i in 0..4: 500500, 2001000, 4501500,
/// 8002000; exit status 3 (os.Exit(3)).
#[test]
fn go_pie() {
    let Some(go) = on_path("go") else {
        println!("skipped: go not installed");
        return;
    };
    let dir = out_dir("tls/go");
    let prog = dir.join("hello");
    let mut c = Command::new(&go);
    c.args(["build", "-buildmode=pie", "-trimpath"])
        // Go's flag package: -I=PATH (or "-I PATH"), not -IPATH.
        .arg(format!("-ldflags=-I={}", guardld().display()))
        .arg("-o")
        .arg(&prog)
        .arg(testbins().join("tls/go/hello.go"))
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .env("GO111MODULE", "off")
        .env("GOCACHE", itest_dir().join("go-cache"))
        .env("GOPATH", itest_dir().join("go-path"))
        .current_dir(&dir);
    let o = run_with_timeout(&mut c, std::time::Duration::from_secs(300));
    o.assert_code(0);
    let h = readelf(&["-lW"], &prog);
    let interp = format!("[Requesting program interpreter: {}]", guardld().display());
    assert!(h.contains(&interp), "Go program's PT_INTERP is not guardld:\n{h}");
    let want = "hello from go\nargs: 2\nsums: [500500 2001000 4501500 8002000]\n";
    for explicit in [false, true] {
        let mut c = if explicit {
            let mut c = command(guardld(), &[]);
            c.arg(&prog);
            c
        } else {
            command(&prog, &[])
        };
        c.args(["a", "b"]).current_dir(&dir);
        run(&mut c)
            .assert_code(3)
            .assert_stdout(want);
    }
}
