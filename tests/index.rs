//! guardld's global symbol index (loader/src/link/index.rs) must resolve
//! every reference exactly as glibc's scope walk does: the first definition
//! in scope order wins, weak ones included (LD_DYNAMIC_WEAK unset);
//! versions are matched per glibc's check_match; hidden symbols never
//! satisfy another object's reference; copy relocations, interposition by
//! the program and by LD_PRELOAD, DT_SYMBOLIC and RTLD_LOCAL dlopen scopes
//! behave as they do without an index; libraries with more than
//! `index::BIG` (4096) exports, which are searched rather than indexed,
//! keep their place in scope order.
//!
//! Every positive case is a libc-less program (testbins/index/*.c, printing
//! through testbins/link/say.h) whose stdout and exit status must be the
//! same under glibc's ld.so (run explicitly: `/lib64/ld-linux-x86-64.so.2
//! PROG`) and under guardld, both explicitly (`guardld PROG`) and as
//! PT_INTERP, with GUARDLD_TEST_SKIP_FINI=1 (glibc's _dl_fini asserts for
//! libc-less programs). The expected output is also written here, so two
//! equally broken loaders cannot agree. The dlopen case cannot use glibc as
//! the reference (a libc-less program has no glibc dlopen to call): its
//! expected values are written by hand from glibc's documented rules.
//!
//! Each case is built in two layouts at least: GNU ld with 4 KiB
//! max-page-size and rust-lld with 64 KiB. Each test builds its objects
//! into its own directory `target/itest/testbins/index/<test>/`.
//!
//! `versions_duplicate`, `visibility_patched_hidden`,
//! `visibility_patched_protected` and `dlopen_global_deps` found four loader
//! bugs (first match in a library, hidden and protected references bound
//! within their object, RTLD_GLOBAL promoting the dependencies); fixed.
//!
//! Run: `cargo test --release --test index` from the workspace root.

mod common;

use common::*;
use object::read::elf::{ElfFile64, ProgramHeader as _};
use object::{Object as _, ObjectSection as _, ObjectSymbol as _};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------- layout ----

impl Case {
    /// This suite's case directory.
    fn new(test: &str, layout: Layout) -> Case {
        Case::new_in("index", test, layout)
    }

    /// A shared library `out` ("libx.so" or "sub/libx.so") from
    /// testbins/index/`src`, DT_SONAME = its file name, DT_RUNPATH
    /// `$ORIGIN`.
    fn lib(&self, out: &str, src: &str) -> Cc {
        let soname = Path::new(out).file_name().unwrap().to_str().unwrap();
        self.cc(out)
            .shared()
            .source(format!("index/{src}"))
            .arg(format!("-Wl,-soname,{soname}"))
            .args(RUNPATH_ORIGIN)
    }

    /// A PIE `out` from testbins/index/`src` (plus testbins/rt), PT_INTERP
    /// = guardld, DT_RUNPATH `$ORIGIN`.
    fn exe(&self, out: &str, src: &str) -> Cc {
        self.cc(out)
            .pie()
            .interp(guardld())
            .source(format!("index/{src}"))
            .args(RUNPATH_ORIGIN)
    }

    /// `-Wl,--version-script=testbins/index/<map>`.
    fn map(&self, map: &str) -> String {
        format!("-Wl,--version-script={}", testbins().join("index").join(map).display())
    }
}

const RUNPATH_ORIGIN: [&str; 2] = ["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN"];

/// `readelf ARGS file` must contain every one of `needles`.
#[track_caller]
fn assert_readelf(args: &[&str], file: &Path, needles: &[&str]) {
    let out = readelf(args, file);
    for n in needles {
        assert!(out.contains(n), "readelf {args:?} {}: no {n:?} in\n{out}", file.display());
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ------------------------------------------------------------------ runs ----

/// How a program is started.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    /// `/lib64/ld-linux-x86-64.so.2 PROG ARGS`, the reference.
    Glibc,
    /// `guardld PROG ARGS`.
    Explicit,
    /// `PROG ARGS` (PT_INTERP = guardld).
    Interp,
}

/// Run `prog ARGS` with exactly the environment `env`, from `/`.
fn start(via: Via, prog: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut c = match via {
        Via::Glibc | Via::Explicit => {
            let loader = if via == Via::Glibc { Path::new(GLIBC_LD) } else { guardld() };
            let mut c = command(loader, env);
            c.arg(prog);
            c
        }
        Via::Interp => command(prog, env),
    };
    c.args(args).current_dir("/");
    run(&mut c)
}

/// GUARDLD_TEST_SKIP_FINI=1 plus `env`.
fn cmp_env<'a>(env: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![("GUARDLD_TEST_SKIP_FINI", "1")];
    v.extend_from_slice(env);
    v
}

/// `prog` under glibc's ld.so must print `want` and exit `code`, and
/// guardld (explicitly and as PT_INTERP) must give the same stdout and exit
/// status.
#[track_caller]
fn compare(prog: &Path, env: &[(&str, &str)], want: &str, code: i32) {
    let env = cmp_env(env);
    let glibc = start(Via::Glibc, prog, &[], &env);
    // The reference itself must be what the test expects, or the comparison
    // means nothing.
    glibc.assert_code(code).assert_stdout(want);
    // Both resolution paths: explicitly through the index (forced), as
    // PT_INTERP by the default policy (a scope walk for these few objects).
    for via in [Via::Explicit, Via::Interp] {
        let o = start(via, prog, &[], &with_index(via, &env));
        println!("guardld {via:?}: {}", o.command);
        assert_same(&glibc, &o, |s| s.to_string());
    }
}

/// `env`, plus GUARDLD_INDEX=always for explicit runs.
fn with_index<'a>(via: Via, env: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = env.to_vec();
    if via == Via::Explicit {
        v.push(("GUARDLD_INDEX", "always"));
    }
    v
}

/// Neither loader may start `prog`: glibc's ld.so exits non-zero (no
/// signal) with `symbol` on stderr; guardld (explicitly and as PT_INTERP)
/// exits 127 with `guardld: <referrer>: undefined symbol: <symbol>`. Nothing
/// of the program runs (stdout empty).
#[track_caller]
fn assert_undefined(prog: &Path, env: &[(&str, &str)], referrer: &Path, symbol: &str) {
    // glibc binds PLT slots lazily: make it look everything up at start-up.
    let mut genv = cmp_env(env);
    genv.push(("LD_BIND_NOW", "1"));
    let g = start(Via::Glibc, prog, &[], &genv);
    if g.timed_out || !matches!(g.code(), Some(1..)) || !g.stdout.is_empty() {
        panic!("glibc's ld.so did not refuse the program\n{}", g.describe());
    }
    g.assert_stderr_contains(&format!("undefined symbol: {symbol}"));
    let env = cmp_env(env);
    for via in [Via::Explicit, Via::Interp] {
        let o = start(via, prog, &[], &with_index(via, &env));
        println!("guardld {via:?}: {}\n{}", o.command, o.stderr_str());
        o.assert_code(127);
        assert!(o.stdout.is_empty(), "stdout not empty ({via:?})\n{}", o.describe());
        let line = format!("guardld: {}: undefined symbol: {symbol}", s(referrer));
        o.assert_stderr(&format!("a line starting {line:?}"), |e| e.lines().any(|l| l.starts_with(&line)));
    }
}

// ------------------------------------------------------- ELF patching ----

fn u64_at(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

fn put_u64(d: &mut [u8], at: usize, v: u64) {
    d[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Rewrite `lib` with `patch` (a new file renamed over the old one).
fn patch_file(lib: &Path, patch: impl FnOnce(&mut Vec<u8>)) {
    let mut d = std::fs::read(lib).unwrap();
    patch(&mut d);
    let tmp = lib.with_extension("patched");
    std::fs::write(&tmp, &d).unwrap();
    std::fs::rename(&tmp, lib).unwrap();
}

/// Set the visibility (st_other & 3) of every defined .dynsym entry named
/// `name` (versioned ones included) in `lib`.
fn set_visibility(lib: &Path, name: &str, vis: u8) {
    patch_file(lib, |d| {
        let f = ElfFile64::<object::Endianness>::parse(&d[..]).unwrap();
        let (off, _) = f.section_by_name(".dynsym").expect("no .dynsym").file_range().unwrap();
        let idx: Vec<usize> = f
            .dynamic_symbols()
            .filter(|sym| sym.name() == Ok(name) && !sym.is_undefined())
            .map(|sym| sym.index().0)
            .collect();
        assert!(!idx.is_empty(), "{}: no defined dynamic symbol {name}", lib.display());
        for i in idx {
            let at = off as usize + i * 24 + 5;
            d[at] = (d[at] & !3) | vis;
        }
    });
}

/// OR DF_SYMBOLIC into `lib`'s DT_FLAGS (which must exist: link with
/// `-z now`).
fn set_df_symbolic(lib: &Path) {
    patch_file(lib, |d| {
        let f = ElfFile64::<object::Endianness>::parse(&d[..]).unwrap();
        let e = f.endian();
        let ph = f
            .elf_program_headers()
            .iter()
            .find(|p| p.p_type(e) == object::elf::PT_DYNAMIC)
            .expect("no PT_DYNAMIC");
        let (off, size) = (ph.p_offset(e) as usize, ph.p_filesz(e) as usize);
        let at = (off..off + size)
            .step_by(16)
            .take_while(|&at| u64_at(d, at) != 0)
            .find(|&at| u64_at(d, at) == object::elf::DT_FLAGS as u64)
            .expect("no DT_FLAGS");
        let v = u64_at(d, at + 8);
        put_u64(d, at + 8, v | object::elf::DF_SYMBOLIC as u64);
    });
}

/// Defined dynamic symbols of `lib` (the exports an index would hold).
fn exports(lib: &Path) -> usize {
    let d = std::fs::read(lib).unwrap();
    let f = ElfFile64::<object::Endianness>::parse(&d[..]).unwrap();
    f.dynamic_symbols().filter(|sym| !sym.is_undefined()).count()
}

// ------------------------------------------------------------------ weak ----

/// libwa.so and libwb.so, one weak (-DWEAK), one strong.
fn build_weak(c: &Case, weak: &str) {
    for (tag, val) in [("wa", 1), ("wb", 2)] {
        let mut cc = c
            .lib(&format!("lib{tag}.so"), "weak_lib.c")
            .arg(format!("-DTAG={tag}"))
            .arg(format!("-DVAL={val}"));
        if tag == weak {
            cc = cc.arg("-DWEAK");
        }
        cc.build();
    }
}

fn weak_want(wf: &str, wvar: i32) -> String {
    format!(
        "exe wf={wf}\nexe via pointer={wf}\nwa_calls_wf={wf}\nwb_calls_wf={wf}\n\
         exe wvar={wvar}\nwa_reads_wvar={v}\nwb_reads_wvar={v}\n",
        v = wvar + 100
    )
}

/// The program NEEDs libwa.so then libwb.so (and the reverse): the first
/// definition in scope order wins whether it is weak or strong, for the
/// program (PIE and non-PIE, whose wvar is a copy of the winner's) and for
/// both libraries' own references.
fn weak_order(test: &str, l: Layout) {
    let c = Case::new(test, l);
    // A weak wf/wvar in libwa.so, strong in libwb.so.
    build_weak(&c, "wa");
    let (wa, wb) = (c.path("libwa.so"), c.path("libwb.so"));
    let syms = readelf(&["--dyn-syms", "-W"], &wa);
    assert!(syms.lines().any(|l| l.contains(" WEAK ") && l.ends_with(" wf")), "wf is not weak in libwa.so:\n{syms}");
    let ab = c.exe("ab", "weak_main.c").arg(&wa).arg(&wb).build();
    let ba = c.exe("ba", "weak_main.c").arg(&wb).arg(&wa).build();
    let ab_nopie = c.exe("ab_nopie", "weak_main.c").no_pie().arg(&wa).arg(&wb).build();
    assert_readelf(&["-rW"], &ab_nopie, &["R_X86_64_COPY"]);
    // Weak first: it wins over the later strong one (no LD_DYNAMIC_WEAK).
    compare(&ab, &[], &weak_want("weak wf in libwa", 1), 0);
    compare(&ab_nopie, &[], &weak_want("weak wf in libwa", 1), 0);
    // Strong first: it wins, the weak one is never used.
    compare(&ba, &[], &weak_want("strong wf in libwb", 2), 0);

    // The reverse roles: strong in libwa.so, weak in libwb.so.
    build_weak(&c, "wb");
    compare(&ab, &[], &weak_want("strong wf in libwa", 1), 0);
    compare(&ba, &[], &weak_want("weak wf in libwb", 2), 0);
    compare(&ab_nopie, &[], &weak_want("strong wf in libwa", 1), 0);
}

layouts!(weak_order: weak_order_bfd_4k => BFD_4K, weak_order_lld_64k => LLD_64K);

// -------------------------------------------------------------- versions ----

/// The objects of the version cases.
struct Versions {
    /// linked against stub1/libv.so: foo@VERS_1.
    old: PathBuf,
    /// linked against libv.so: foo@VERS_2.
    new: PathBuf,
    /// NEEDs libref_X.so (an unversioned reference to foo) for each X.
    unv: Vec<(&'static str, PathBuf)>,
    libu: PathBuf,
}

/// libu.so (unversioned foo), libv.so (foo@VERS_1, foo@@VERS_2), libh2.so,
/// libh3.so, libd4.so (see ver_lib.c), their unversioned link-time stubs in
/// stub0/, the foo@@VERS_1 stub stub1/libv.so; libref_X.so linked against
/// stub0/libX.so (then libu.so, except for h3x), and one program per
/// libref. `dup` adds libdup.so and its programs.
fn build_versions(c: &Case, dup: bool) -> Versions {
    let libu = c.lib("libu.so", "ver_lib.c").arg("-DPLAIN=\"libu foo\"").build();
    let v = c.lib("libv.so", "ver_lib.c").arg("-DV12").arg(c.map("ver_12.map")).build();
    assert_readelf(&["--dyn-syms", "-W"], &v, &["foo@VERS_1", "foo@@VERS_2"]);
    let v1 = c.lib("stub1/libv.so", "ver_lib.c").arg("-DPLAIN=\"stub\"").arg(c.map("ver_1.map")).build();
    assert_readelf(&["--dyn-syms", "-W"], &v1, &["foo@@VERS_1"]);
    let h2 = c.lib("libh2.so", "ver_lib.c").arg("-DHID2").arg(c.map("ver_1h.map")).build();
    let h3 = c.lib("libh3.so", "ver_lib.c").arg("-DHID3").arg(c.map("ver_0h.map")).build();
    let d4 = c.lib("libd4.so", "ver_lib.c").arg("-DDEF4").arg(c.map("ver_012.map")).build();
    // Version indices as the cases need them: VERS_1 is 2 in libh2, 3 in
    // libh3 and libd4; foo is never the default version in libh2/libh3.
    let dyn_syms = |f: &Path| readelf(&["--dyn-syms", "-W"], f);
    for (lib, verdef, def) in [
        (&h2, "2 (VERS_1)", "foo@VERS_1"),
        (&h3, "3 (VERS_1)", "foo@VERS_1"),
        (&d4, "3 (VERS_1)", "foo@@VERS_2"),
    ] {
        assert_readelf(&["-V"], lib, &[verdef]);
        assert!(dyn_syms(lib).contains(def), "{}: no {def}:\n{}", lib.display(), dyn_syms(lib));
    }
    for lib in [&h2, &h3] {
        assert!(!dyn_syms(lib).contains("foo@@"), "{}: foo has a default version", lib.display());
    }
    let mut stubs = vec!["v", "h2", "h3", "d4"];
    if dup {
        let d = c.lib("libdup.so", "ver_lib.c").arg("-DDUP").arg(c.map("ver_dup.map")).build();
        let syms = dyn_syms(&d);
        assert!(
            syms.lines().any(|l| l.ends_with(" foo")) && syms.contains("foo@VERS_1"),
            "libdup.so lacks foo or foo@VERS_1:\n{syms}"
        );
        c.lib("stub1/libdup.so", "ver_lib.c").arg("-DPLAIN=\"stub\"").arg(c.map("ver_1.map")).build();
        stubs.push("dup");
    }
    for x in &stubs {
        c.lib(&format!("stub0/lib{x}.so"), "ver_lib.c").arg("-DPLAIN=\"stub\"").build();
    }
    let old = c.exe("old", "ver_main.c").arg("-DDIRECT").arg(&v1).arg(&libu).build();
    let new = c.exe("new", "ver_main.c").arg("-DDIRECT").arg(&v).arg(&libu).build();
    assert_readelf(&["-V"], &old, &["Name: VERS_1"]);
    assert_readelf(&["-V"], &new, &["Name: VERS_2"]);
    let mut unv = Vec::new();
    let refs: Vec<(&'static str, &'static str, bool)> = {
        let mut r = vec![("v", "v", true), ("h2", "h2", true), ("h3", "h3", true), ("h3x", "h3", false), ("d4", "d4", true)];
        if dup {
            r.push(("dup", "dup", false));
        }
        r
    };
    for (name, x, with_u) in refs {
        let mut cc = c
            .lib(&format!("libref_{name}.so"), "ver_ref.c")
            .arg(c.path(&format!("stub0/lib{x}.so")));
        if with_u {
            cc = cc.arg(&libu);
        }
        let r = cc.build();
        let syms = dyn_syms(&r);
        assert!(
            syms.lines().any(|l| l.contains(" UND ") && l.ends_with(" foo")),
            "libref_{name}.so's reference to foo is versioned:\n{syms}"
        );
        // The linker would check libref's foo against the real libraries
        // (found through -rpath-link), not the stubs it was linked with.
        let prog = c
            .exe(&format!("unv_{name}"), "ver_main.c")
            .arg("-Wl,--allow-shlib-undefined")
            .arg(&r)
            .build();
        unv.push((name, prog));
    }
    if dup {
        let old_dup = c.exe("old_dup", "ver_main.c").arg("-DDIRECT").arg(c.path("stub1/libdup.so")).build();
        unv.push(("old_dup", old_dup));
    }
    Versions { old, new, unv, libu }
}

fn unv<'a>(v: &'a Versions, name: &str) -> &'a Path {
    &v.unv.iter().find(|(n, _)| *n == name).unwrap().1
}

fn direct(got: &str) -> String {
    format!("foo={got}\nvia pointer={got}\n")
}

fn via_ref(got: &str) -> String {
    format!("ref foo={got}\nref via pointer={got}\n")
}

/// Versioned and unversioned definitions of one name, glibc's check_match:
///
/// * a versioned reference takes the definition of its version: the old
///   program (linked against foo@@VERS_1) gets libv's foo@VERS_1, the new
///   one foo@@VERS_2; an unversioned definition earlier in the scope
///   (libu.so preloaded) satisfies a versioned reference too; a definition
///   of another version (libh2.so's foo@VERS_1 preloaded, for the new
///   program) does not, the lookup goes on to the next object;
/// * an unversioned reference (from libref_X.so, linked against an
///   unversioned stub) accepts a definition whose version index is 0, 1 or
///   2 — hidden (non-default) or not: libv's foo@VERS_1 ("the oldest
///   version"), not foo@@VERS_2; libh2's only, hidden foo@VERS_1 (index 2);
///   else the only non-hidden versioned definition of the object (libd4's
///   foo@@VERS_2, index 4, next to a hidden foo@VERS_1, index 3); a hidden
///   definition at index 3 or more (libh3's foo@VERS_1) is skipped: libu's
///   foo, later in the scope, wins, and without libu.so the reference is
///   undefined.
fn versions(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let v = build_versions(&c, false);
    compare(&v.old, &[], &direct("libv foo@VERS_1"), 0);
    compare(&v.new, &[], &direct("libv foo@@VERS_2"), 0);
    compare(&v.new, &[("LD_PRELOAD", s(&v.libu))], &direct("libu foo"), 0);
    compare(&v.old, &[("LD_PRELOAD", s(&v.libu))], &direct("libu foo"), 0);
    // libh2.so preloaded: its foo@VERS_1 is hidden (non-default) but
    // matches a VERS_1 reference by name; a VERS_2 reference rejects it and
    // goes on to libv.so.
    let h2 = c.path("libh2.so");
    compare(&v.old, &[("LD_PRELOAD", s(&h2))], &direct("libh2 foo@VERS_1"), 0);
    compare(&v.new, &[("LD_PRELOAD", s(&h2))], &direct("libv foo@@VERS_2"), 0);
    compare(unv(&v, "v"), &[], &via_ref("libv foo@VERS_1"), 0);
    compare(unv(&v, "h2"), &[], &via_ref("libh2 foo@VERS_1"), 0);
    compare(unv(&v, "d4"), &[], &via_ref("libd4 foo@@VERS_2"), 0);
    compare(unv(&v, "h3"), &[], &via_ref("libu foo"), 0);
    assert_undefined(unv(&v, "h3x"), &[], &c.path("libref_h3x.so"), "foo");
}

layouts!(versions: versions_bfd_4k => BFD_4K, versions_lld_64k => LLD_64K);

/// Was a loader bug, now fixed (index.rs `first_indexed`): libdup.so has an unversioned
/// (base version) foo and foo@VERS_1 (index 2). Both accept an unversioned
/// reference, and both accept a reference to foo@VERS_1 (a base-version
/// definition matches any version in check_match). glibc takes the first of
/// them in the object's hash chain (symbol table order: bfd puts foo@VERS_1
/// first, lld the base foo); guardld's index offers every definition of the
/// object to one `Pick`, whose `offer` overwrites an earlier accepted hit,
/// so guardld takes the LAST one. The scope walk (`Symbols::lookup`) stops
/// at the first, as glibc does.
fn versions_duplicate(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let v = build_versions(&c, true);
    // glibc's choice: the first in .dynsym order.
    let d = std::fs::read(c.path("libdup.so")).unwrap();
    let f = ElfFile64::<object::Endianness>::parse(&d[..]).unwrap();
    let first_foo = f
        .dynamic_symbols()
        .find(|sym| sym.name() == Ok("foo") && !sym.is_undefined())
        .unwrap()
        .address();
    let base_addr = f.dynamic_symbols().find(|sym| sym.name() == Ok("foo_v1")).map(|sym| sym.address());
    let first = if Some(first_foo) == base_addr { "libdup foo@VERS_1" } else { "libdup foo (base version)" };
    let mut order = String::new();
    for sym in f.dynamic_symbols() {
        let _ = writeln!(order, "{} {:#x}", sym.name().unwrap_or("?"), sym.address());
    }
    println!("libdup.so .dynsym:\n{order}first foo: {first}");
    compare(unv(&v, "dup"), &[], &via_ref(first), 0);
    compare(unv(&v, "old_dup"), &[], &direct(first), 0);
}

#[test]

fn versions_duplicate_bfd_4k() {
    versions_duplicate("versions_duplicate_bfd_4k", BFD_4K)
}

#[test]

fn versions_duplicate_lld_64k() {
    versions_duplicate("versions_duplicate_lld_64k", LLD_64K)
}

// ------------------------------------------------------------ preloading ----

/// libpreload.so (LD_PRELOAD), libpredep.so and libprelater.so (NEEDed in
/// this order) all define ip() and ipvar.
fn build_preload(c: &Case) -> (PathBuf, PathBuf, PathBuf) {
    let mut libs = Vec::new();
    for (tag, lib, val) in [("pre", "libpreload.so", 1), ("dep", "libpredep.so", 2), ("later", "libprelater.so", 3)] {
        libs.push(
            c.lib(lib, "pre_lib.c")
                .arg(format!("-DTAG={tag}"))
                .arg(format!("-DVAL={val}"))
                .build(),
        );
    }
    (libs[0].clone(), libs[1].clone(), libs[2].clone())
}

fn preload_want(ip: &str, ipvar: i32) -> String {
    format!(
        "exe ip={ip}\nexe via pointer={ip}\ndep_calls_ip={ip}\nlater_calls_ip={ip}\n\
         exe ipvar={ipvar}\ndep_reads_ipvar={v}\nlater_reads_ipvar={v}\n",
        v = ipvar + 1000
    )
}

/// LD_PRELOAD interposes ip/ipvar over libpredep.so and the later
/// libprelater.so, for the program and both libraries (and a non-PIE
/// program's copy of ipvar is taken from the preload); the program's own
/// definitions beat the preload.
fn preload(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (pre, dep, later) = build_preload(&c);
    let prog = c.exe("pre", "pre_main.c").arg(&dep).arg(&later).build();
    let nopie = c.exe("pre_nopie", "pre_main.c").no_pie().arg(&dep).arg(&later).build();
    assert_readelf(&["-rW"], &nopie, &["R_X86_64_COPY"]);
    let own = c
        .exe("pre_own", "pre_main.c")
        .arg("-DEXE_DEF")
        .arg("-Wl,--export-dynamic")
        .arg(&dep)
        .arg(&later)
        .build();
    let preload = [("LD_PRELOAD", s(&pre))];
    compare(&prog, &[], &preload_want("ip from libdep", 2), 0);
    compare(&prog, &preload, &preload_want("ip from libpre", 1), 0);
    compare(&nopie, &[], &preload_want("ip from libdep", 2), 0);
    compare(&nopie, &preload, &preload_want("ip from libpre", 1), 0);
    compare(&own, &[], &preload_want("ip from exe", 9), 0);
    compare(&own, &preload, &preload_want("ip from exe", 9), 0);
    // Preloading the later library moves it ahead of libpredep.so.
    compare(&prog, &[("LD_PRELOAD", s(&later))], &preload_want("ip from liblater", 3), 0);
}

layouts!(preload: preload_bfd_4k => BFD_4K, preload_lld_64k => LLD_64K);

// ------------------------------------------------------------------ big ----

/// More exports than the index takes (loader/src/link/index.rs `BIG`).
const BIG_FUNCS: usize = 5000;
const INDEX_BIG: usize = 4096;

/// C for a library with `BIG_FUNCS` functions `<prefix>_N` returning N,
/// followed by `extra`.
fn gen_big(path: &Path, prefix: &str, extra: &str) {
    let mut src = String::from("/* Generated by tests/index.rs (gen_big). */\n");
    for i in 0..BIG_FUNCS {
        let _ = writeln!(src, "int {prefix}_{i}(void) {{ return {i}; }}");
    }
    src.push_str(extra);
    std::fs::write(path, src).unwrap();
}

const BIG_EXTRA: &str = r#"
const char *early_and_big(void) { return "early_and_big from libbig"; }
const char *big_and_late(void) { return "big_and_late from libbig"; }
__attribute__((weak)) const char *big_weak(void) { return "weak big_weak from libbig"; }
const char *big_and_big2(void) { return "big_and_big2 from libbig"; }
int bigvar[2] = {3, 3};
const char *late_only(void);
const char *big2_only(void);
const char *big_calls_early_and_big(void) { return early_and_big(); }
const char *big_calls_big_and_late(void) { return big_and_late(); }
const char *big_calls_late_only(void) { return late_only(); }
const char *big_calls_big2_only(void) { return big2_only(); }
int big_reads_bigvar(void) { return bigvar[0]; }
"#;

const BIG2_EXTRA: &str = r#"
const char *late_and_big2(void) { return "late_and_big2 from libbig2"; }
const char *big_and_big2(void) { return "big_and_big2 from libbig2"; }
const char *big2_only(void) { return "big2_only from libbig2"; }
const char *big2_calls_late_and_big2(void) { return late_and_big2(); }
const char *big2_calls_big_and_big2(void) { return big_and_big2(); }
"#;

fn big_want(bigvar: i32) -> String {
    format!(
        "\
big_0=0
big_7=7007
big_2500=2500
big_4000=4000
big_4999=4999
big2_1234=1234
big_4000 via pointer=4000
early_and_big=early_and_big from libbigearly
big_and_late=big_and_late from libbig
big_weak=weak big_weak from libbig
late_and_big2=late_and_big2 from libbiglate
big_and_big2=big_and_big2 from libbig
late_only=late_only from libbiglate
big2_only=big2_only from libbig2
early_calls_early_and_big=early_and_big from libbigearly
big_calls_early_and_big=early_and_big from libbigearly
big_calls_big_and_late=big_and_late from libbig
big_calls_late_only=late_only from libbiglate
big_calls_big2_only=big2_only from libbig2
late_calls_big_and_late=big_and_late from libbig
late_calls_big_weak=weak big_weak from libbig
big2_calls_late_and_big2=late_and_big2 from libbiglate
big2_calls_big_and_big2=big_and_big2 from libbig
exe bigvar={bigvar}
big_reads_bigvar={v}
late_reads_bigvar={v}
",
        v = bigvar + 100
    )
}

/// The scope exe, libbigearly.so, libbig.so (5000+ exports: not indexed,
/// searched through its own hash table), libbiglate.so, libbig2.so (5000+
/// too). A name the earlier indexed libbigearly.so also defines resolves
/// there (big_7, early_and_big); names the later libbiglate.so also defines
/// resolve to libbig.so (big_4000, big_and_late, the weak big_weak, bigvar
/// — also as a non-PIE's copy relocation, which skips the program); a name
/// in libbiglate.so and the later big libbig2.so resolves to libbiglate.so;
/// one in both big libraries to the first; names only one object defines
/// are found wherever it is. The same for the libraries' own references.
fn big(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let big_c = c.path("big.c");
    let big2_c = c.path("big2.c");
    gen_big(&big_c, "big", BIG_EXTRA);
    gen_big(&big2_c, "big2", BIG2_EXTRA);
    let fast = ["-O0", "-g0"];
    let early = c.lib("libbigearly.so", "big_side.c").arg("-DEARLY").build();
    let late = c.lib("libbiglate.so", "big_side.c").arg("-DLATE").build();
    let soname = |n: &str| format!("-Wl,-soname,{n}");
    let big = c
        .cc("libbig.so")
        .shared()
        .source(&big_c)
        .args(fast)
        .arg(soname("libbig.so"))
        .args(RUNPATH_ORIGIN)
        .build();
    let big2 = c
        .cc("libbig2.so")
        .shared()
        .source(&big2_c)
        .args(fast)
        .arg(soname("libbig2.so"))
        .args(RUNPATH_ORIGIN)
        .build();
    for b in [&big, &big2] {
        let n = exports(b);
        assert!(n > INDEX_BIG, "{} exports only {n} symbols", b.display());
    }
    let libs = [&early, &big, &late, &big2];
    let prog = c.exe("big", "big_main.c").args(libs).build();
    let nopie = c.exe("big_nopie", "big_main.c").no_pie().args(libs).build();
    assert_readelf(&["-rW"], &nopie, &["R_X86_64_COPY"]);
    compare(&prog, &[], &big_want(3), 0);
    compare(&nopie, &[], &big_want(3), 0);
    // A program this small resolves by walking the scope (the index does
    // not pay); forced, the index gives the same answers.
    let o = start(Via::Interp, &prog, &[], &cmp_env(&[("GUARDLD_DEBUG", "statistics")]));
    o.assert_code(0).assert_stderr_contains("(walking the scope)").assert_stderr_contains("from 1 chunk(s)");
    let o = start(Via::Interp, &prog, &[], &cmp_env(&[("GUARDLD_DEBUG", "statistics"), ("GUARDLD_INDEX", "always")]));
    o.assert_code(0).assert_stderr_contains("(through the index)");
    assert_eq!(String::from_utf8_lossy(&o.stdout), big_want(3), "forced index");
}

layouts!(big: big_bfd_4k => BFD_4K, big_lld_64k => LLD_64K);

// ------------------------------------------------------------- symbolic ----

const SYMBOLIC_WANT: &str = "\
exe sym_fn=sym_fn from exe
sym_calls=sym_fn from libsym
sym_via_ptr=sym_fn from libsym
sym_reads_var=1
symp_calls=symp_fn from libsymp
symp_via_ptr=symp_fn from libsymp
symp_reads_var=2
symp_calls_hook=hook from exe
user_calls_sym=sym_fn from exe
user_calls_symp=symp_fn from exe
user_reads_symp_var=200
";

/// libsym.so (-Bsymbolic) binds its own references to its own definitions
/// while the program and libsymuser.so bind to the program's interposers.
/// libsymp.so does the same with its own references left to the loader
/// (built normally, DF_SYMBOLIC set afterwards): the loader must search it
/// first for its own relocations (glibc's l_symbolic_searchlist), and the
/// scope, in order, for names it does not define (hook: the program's).
fn symbolic(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let sym = c.lib("libsym.so", "sym_lib.c").arg("-DSYM").arg("-Wl,-Bsymbolic").build();
    // bfd writes DT_SYMBOLIC, lld DF_SYMBOLIC in DT_FLAGS.
    assert_readelf(&["-d"], &sym, &["SYMBOLIC"]);
    let symp = c.lib("libsymp.so", "sym_lib.c").arg("-DSYMP").arg("-Wl,-z,now").build();
    // Its own references are dynamic relocations.
    assert_readelf(&["-rW"], &symp, &["symp_fn", "symp_var"]);
    assert!(!readelf(&["-d"], &symp).contains("SYMBOLIC"), "libsymp.so is already symbolic");
    set_df_symbolic(&symp);
    assert_readelf(&["-d"], &symp, &["SYMBOLIC"]);
    let user = c.lib("libsymuser.so", "sym_lib.c").arg("-DUSER").build();
    let prog = c
        .exe("symbolic", "sym_main.c")
        .arg("-Wl,--export-dynamic")
        .arg(&sym)
        .arg(&symp)
        .arg(&user)
        .build();
    compare(&prog, &[], SYMBOLIC_WANT, 0);
}

layouts!(symbolic: symbolic_bfd_4k => BFD_4K, symbolic_lld_64k => LLD_64K);

// ----------------------------------------------------------- visibility ----

const VISIBILITY_WANT: &str = "\
vis_calls_hidden=vis_hidden from libvis
user_calls_hidden=vis_hidden from libvisalt
exe vis_prot=vis_prot from exe
vis_calls_prot=vis_prot from libvis
vis_prot_via_ptr=vis_prot from libvis
user_calls_prot=vis_prot from exe
vis_reads_prot_var=5
user_reads_prot_var=5
";

/// libvis.so's hidden vis_hidden is not exported: libvisuser.so (linked
/// against a stub that exported it) binds to libvisalt.so's, later in the
/// scope, and without libvisalt.so nothing satisfies it (undefined symbol,
/// exit 127). libvis.so's protected vis_prot binds locally inside libvis.so
/// (the linker resolved it) while the program and libvisuser.so bind to the
/// program's interposer; its protected data is libvis.so's for everyone.
fn visibility(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let vis = c.lib("libvis.so", "vis_lib.c").build();
    let syms = readelf(&["--dyn-syms", "-W"], &vis);
    assert!(!syms.contains("vis_hidden"), "libvis.so exports vis_hidden:\n{syms}");
    assert!(
        syms.lines().any(|l| l.contains("PROTECTED") && l.ends_with(" vis_prot")),
        "vis_prot is not protected in libvis.so:\n{syms}"
    );
    let stub = c.lib("stub/libvis.so", "vis_lib.c").arg("-DSTUB").build();
    let user = c.lib("libvisuser.so", "vis_lib.c").arg("-DUSER").arg("-Wl,-z,now").arg(&stub).build();
    let alt = c.lib("libvisalt.so", "vis_lib.c").arg("-DALT").build();
    let ok = c
        .exe("vis", "vis_main.c")
        .arg("-Wl,--export-dynamic")
        .arg(&stub)
        .arg(&user)
        .arg(&alt)
        .build();
    let err = c
        .exe("vis_err", "vis_main.c")
        .arg("-Wl,--export-dynamic")
        .arg(&stub)
        .arg(&user)
        .build();
    compare(&ok, &[], VISIBILITY_WANT, 0);
    assert_undefined(&err, &[], &user, "vis_hidden");
}

layouts!(visibility: visibility_bfd_4k => BFD_4K, visibility_lld_64k => LLD_64K);

/// libpv1.so, libpv2.so (pv_lib.c, dynamic relocations against their own
/// pv_fn/pv_var) and the programs pv (no definitions of its own) and pv_own
/// (interposes pv_fn and pv_var).
fn build_pv(c: &Case) -> (PathBuf, PathBuf, PathBuf) {
    let mut libs = Vec::new();
    for (tag, val) in [("pv1", 1), ("pv2", 2)] {
        let lib = c
            .lib(&format!("lib{tag}.so"), "pv_lib.c")
            .arg(format!("-DTAG={tag}"))
            .arg(format!("-DVAL={val}"))
            .arg("-Wl,-z,now")
            .build();
        assert_readelf(&["-rW"], &lib, &["pv_fn", "pv_var"]);
        libs.push(lib);
    }
    let prog = c.exe("pv", "pv_main.c").arg(&libs[0]).arg(&libs[1]).build();
    let own = c
        .exe("pv_own", "pv_main.c")
        .arg("-DEXE_DEF")
        .arg("-Wl,--export-dynamic")
        .arg(&libs[0])
        .arg(&libs[1])
        .build();
    (libs[0].clone(), prog, own)
}

const STV_HIDDEN: u8 = 2;
const STV_PROTECTED: u8 = 3;

/// libpv1.so's pv_fn and pv_var rewritten to STV_HIDDEN in .dynsym (a
/// linker would have made them local). Nobody else may bind to them: the
/// program and libpv2.so get libpv2.so's. This part guardld gets right.
///
/// Was a loader bug, now fixed (reloc.rs `resolve`): libpv1.so's own relocations against
/// its hidden pv_fn/pv_var must bind to libpv1.so itself — glibc's
/// RESOLVE_MAP treats a reference through a hidden or internal symbol like
/// an STB_LOCAL one (dl_symbol_visibility_binds_local_p) — but guardld
/// looks the name up in the scope, where the hidden definition is skipped,
/// and binds them to libpv2.so's (`pv1_calls=pv_fn from libpv2`).
fn visibility_patched_hidden(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (pv1, prog, own) = build_pv(&c);
    set_visibility(&pv1, "pv_fn", STV_HIDDEN);
    set_visibility(&pv1, "pv_var", STV_HIDDEN);
    // The program's pv_var is a copy of libpv2.so's (PIE copy relocation)
    // or libpv2.so's own: libpv1.so keeps reading its own 1 either way.
    let want = "\
exe pv_fn=pv_fn from libpv2
exe pv_var=2
pv1_calls=pv_fn from libpv1
pv1_via_ptr=pv_fn from libpv1
pv1_reads_var=1
pv2_calls=pv_fn from libpv2
pv2_reads_var=2
";
    compare(&prog, &[], want, 0);
    let want_own = "\
exe pv_fn=pv_fn from exe
exe pv_var=9
pv1_calls=pv_fn from libpv1
pv1_via_ptr=pv_fn from libpv1
pv1_reads_var=1
pv2_calls=pv_fn from exe
pv2_reads_var=9
";
    compare(&own, &[], want_own, 0);
}

/// libpv1.so's pv_fn and pv_var rewritten to STV_PROTECTED in .dynsym,
/// with its own references still dynamic relocations (as old linkers left
/// them). Others may bind to them (the program without definitions of its
/// own gets libpv1.so's, the first), but when the program interposes them:
///
/// Was a loader bug, now fixed (no STV_PROTECTED handling in reloc.rs `resolve`): glibc's
/// _dl_lookup_symbol_x binds a reference made through a protected symbol
/// of the referring object to that object's own definition when the scope
/// lookup found another object's (JUMP_SLOT, GLOB_DAT of the function and
/// of the data alike: `pv1_calls=pv_fn from libpv1`, `pv1_reads_var=1`);
/// guardld binds them to the program's.
fn visibility_patched_protected(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (pv1, prog, own) = build_pv(&c);
    set_visibility(&pv1, "pv_fn", STV_PROTECTED);
    set_visibility(&pv1, "pv_var", STV_PROTECTED);
    let want = "\
exe pv_fn=pv_fn from libpv1
exe pv_var=1
pv1_calls=pv_fn from libpv1
pv1_via_ptr=pv_fn from libpv1
pv1_reads_var=1
pv2_calls=pv_fn from libpv1
pv2_reads_var=1
";
    compare(&prog, &[], want, 0);
    let want_own = "\
exe pv_fn=pv_fn from exe
exe pv_var=9
pv1_calls=pv_fn from libpv1
pv1_via_ptr=pv_fn from libpv1
pv1_reads_var=1
pv2_calls=pv_fn from exe
pv2_reads_var=9
";
    compare(&own, &[], want_own, 0);
}

#[test]

fn visibility_patched_hidden_bfd_4k() {
    visibility_patched_hidden("visibility_patched_hidden_bfd_4k", BFD_4K)
}

#[test]

fn visibility_patched_hidden_lld_64k() {
    visibility_patched_hidden("visibility_patched_hidden_lld_64k", LLD_64K)
}

#[test]

fn visibility_patched_protected_bfd_4k() {
    visibility_patched_protected("visibility_patched_protected_bfd_4k", BFD_4K)
}

#[test]

fn visibility_patched_protected_lld_64k() {
    visibility_patched_protected("visibility_patched_protected_lld_64k", LLD_64K)
}

// ---------------------------------------------------------------- dlopen ----

/// The dlopen programs and libraries: libdlglob.so (NEEDed),
/// libdlloc.so -> libdlldep.so, libdlother.so, libdllate.so (dlopen'd),
/// and `dl`, linked against libdlglob.so and, for dlopen/dlsym, the guardld
/// binary (rust-lld) or a stub of it (GNU ld): NEEDED ld-guardld.so.1.
fn build_dl(c: &Case) -> PathBuf {
    let lib = |out: &str, def: &str| {
        c.lib(out, "dl_lib.c")
            .arg(format!("-D{def}"))
            .arg("-Wl,-z,now")
            .arg(format!("-L{}", c.dir.display()))
    };
    let glob = lib("libdlglob.so", "GLOB").build();
    let ldep = lib("libdlldep.so", "LDEP").build();
    lib("libdlloc.so", "LOC").arg(&ldep).build();
    lib("libdlother.so", "OTHER").build();
    lib("libdllate.so", "LATE").build();
    // rust-lld links against the guardld binary itself; GNU ld refuses an
    // executable as input, so it gets a stub with the same soname.
    let api = match c.layout.linker {
        Linker::Lld => guardld().to_path_buf(),
        Linker::Bfd => c
            .cc("stub/ld-guardld.so.1")
            .shared()
            .source("index/dl_stub.c")
            .arg("-I")
            .arg(workspace().join("include"))
            .arg("-Wl,-soname,ld-guardld.so.1")
            .build(),
    };
    let prog = c
        .exe("dl", "dl_main.c")
        .arg("-I")
        .arg(workspace().join("include"))
        .arg("-Wl,-z,now")
        .arg(&glob)
        .arg(&api)
        .build();
    let d = readelf(&["-d"], &prog);
    for n in ["[libdlglob.so]", "[ld-guardld.so.1]"] {
        assert!(d.contains(n), "dl lacks {n}:\n{d}");
    }
    prog
}

/// Run `dl SUB` explicitly and as PT_INTERP: exit 0, nothing on stderr,
/// stdout `want`.
#[track_caller]
fn expect_dl(prog: &Path, sub: &str, want: &str) {
    for via in [Via::Explicit, Via::Interp] {
        let o = start(via, prog, &[sub], &[]);
        o.assert_code(0).assert_stderr("nothing on stderr", |e| e.is_empty());
        if o.stdout_str() != want {
            panic!(
                "dl {sub} ({via:?}): stdout differs\n--- diff (- want, + got) ---\n{}\n{}",
                line_diff(want, &o.stdout_str()),
                o.describe()
            );
        }
    }
}

/// `dl scopes`, written by hand from glibc's rules (a libc-less program
/// has no glibc dlopen, so glibc cannot be run as the reference): a
/// dlopen'd object's scope is the global scope followed by its own local
/// scope (the object, then its dependencies breadth-first: _dl_new_object's
/// l_scope), so
/// * shared_fn, defined by the global libdlglob.so and by the RTLD_LOCAL
///   libdlloc.so, resolves to libdlglob.so for libdlloc.so and libdlldep.so;
/// * loc_only, which only libdlloc.so defines, resolves there for its
///   dependency libdlldep.so (not found globally: the local scope next);
/// * both_local (libdlloc.so and libdlldep.so) resolves to libdlloc.so for
///   both (first in the local scope);
/// * dlsym(handle) searches the object's local scope only (libdlloc's
///   shared_fn, libdlldep's ldep_only); RTLD_DEFAULT the global scope only
///   (loc_only and both_local are not found);
/// * libdlother.so, dlopen'd RTLD_LOCAL too, cannot see libdlloc.so's
///   loc_only (its dlopen fails, naming it) until libdlloc.so is promoted by
///   dlopen(RTLD_NOLOAD | RTLD_GLOBAL), which returns the same handle and
///   appends it to the global scope: after libdlglob.so, whose shared_fn
///   still wins;
/// * libdllate.so, dlopen'd RTLD_GLOBAL last, defines shared_fn and
///   loc_only again: the earlier definitions win (its own reference
///   included), and nothing already bound changes.
const DL_SCOPES: &str = "\
exe shared_fn=shared_fn from libdlglob
dlopen loc ok=1
loc_calls_shared=shared_fn from libdlglob
ldep_calls_shared=shared_fn from libdlglob
ldep_calls_loc_only=loc_only from libdlloc
loc_calls_both=both_local from libdlloc
ldep_calls_both=both_local from libdlloc
dlsym(h) shared_fn=shared_fn from libdlloc
dlsym(h) ldep_only=ldep_only from libdlldep
dlsym(default) shared_fn=shared_fn from libdlglob
dlsym(default) loc_only=(not found)
dlsym(default) both_local=(not found)
dlopen other while loc is local ok=0
dlerror names loc_only=1
promote returns the same handle=1
after promote dlsym(default) shared_fn=shared_fn from libdlglob
after promote dlsym(default) loc_only=loc_only from libdlloc
dlopen other after promote ok=1
other_calls_loc_only=loc_only from libdlloc
dlopen late ok=1
late_calls_shared=shared_fn from libdlglob
after late dlsym(default) shared_fn=shared_fn from libdlglob
after late dlsym(default) loc_only=loc_only from libdlloc
after late dlsym(h) shared_fn=shared_fn from libdlloc
after late exe shared_fn=shared_fn from libdlglob
";

fn dlopen_scopes(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let prog = build_dl(&c);
    expect_dl(&prog, "scopes", DL_SCOPES);
}

layouts!(dlopen_scopes: dlopen_scopes_bfd_4k => BFD_4K, dlopen_scopes_lld_64k => LLD_64K);

/// `dl global-deps`, by hand from glibc's dl-open.c add_to_global: a
/// dlopen with RTLD_GLOBAL adds the object's whole search list — the object
/// AND its dependencies — to the global scope, so RTLD_DEFAULT finds
/// libdlldep.so's ldep_only and libdlother.so's loc_only resolves.
///
/// Was a loader bug, now fixed (api.rs `promote`): guardld inserts only the dlopen'd object
/// itself into the global scope, not its dependencies:
/// `dlsym(default) ldep_only=(not found)`.
const DL_GLOBAL_DEPS: &str = "\
dlopen loc global ok=1
dlsym(default) loc_only=loc_only from libdlloc
dlsym(default) ldep_only=ldep_only from libdlldep
dlopen other ok=1
other_calls_loc_only=loc_only from libdlloc
";

fn dlopen_global_deps(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let prog = build_dl(&c);
    expect_dl(&prog, "global-deps", DL_GLOBAL_DEPS);
}

#[test]

fn dlopen_global_deps_bfd_4k() {
    dlopen_global_deps("dlopen_global_deps_bfd_4k", BFD_4K)
}

#[test]

fn dlopen_global_deps_lld_64k() {
    dlopen_global_deps("dlopen_global_deps_lld_64k", LLD_64K)
}
