//! Issue "guardld links programs with their shared libraries": symbol
//! resolution, interposition, preloading, init/fini order, symbol versions,
//! copy relocations, IFUNC, weak references, search paths ($ORIGIN, RUNPATH,
//! RPATH, LD_LIBRARY_PATH), deep and cyclic dependency graphs, DT_RELR; the
//! errors that stop a program before it runs; `--list` and
//! LD_TRACE_LOADED_OBJECTS.
//!
//! Every positive case is a libc-less program (testbins/link/*.c) whose
//! stdout and exit status must be the same under glibc's ld.so (run
//! explicitly: `/lib64/ld-linux-x86-64.so.2 PROG`) and under guardld, both
//! explicitly (`guardld PROG`) and as PT_INTERP, with GUARDLD_TEST_SKIP_FINI=1
//! (glibc's _dl_fini asserts for libc-less programs). The expected output is
//! also written here, so two equally broken loaders cannot agree.
//!
//! Each case is built in four layouts: GNU ld or rust-lld, 4 KiB or 64 KiB
//! max-page-size (with 64 KiB an object's segments sit at 64 KiB boundaries
//! while the system page is 4 KiB). Each test builds its objects once, into
//! its own directory `target/itest/testbins/link/<test>/`.
//!
//! The errors (missing library, symbol or version; an unsupported
//! relocation type, a symbol index past the symbol table, a dynamic section
//! without DT_NULL, a DT_NEEDED past DT_STRSZ: the last four hand-patched
//! into the test's own build of a library with the `object` crate) must stop guardld
//! with exit status 127, no signal, nothing of the program run, and
//! `guardld: <object>: <reason>` on stderr.
//!
//! Run: `cargo test --release --test link` from the workspace root.

mod common;

use common::*;
use object::read::elf::{ElfFile64, ProgramHeader as _};
use object::{Object as _, ObjectSection as _, ObjectSymbol as _};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------- layout ----

impl Case {
    /// This suite's case directory.
    fn new(test: &str, layout: Layout) -> Case {
        Case::new_in("link", test, layout)
    }

    /// A shared library `out` ("libx.so" or "sub/libx.so") from
    /// testbins/link/`src`, with DT_SONAME = its file name and no RUNPATH.
    fn lib_bare(&self, out: &str, src: &str) -> Cc {
        let soname = Path::new(out).file_name().unwrap().to_str().unwrap();
        self.cc(out)
            .shared()
            .source(format!("link/{src}"))
            .arg(format!("-Wl,-soname,{soname}"))
    }

    /// [`Case::lib_bare`] with DT_RUNPATH `$ORIGIN` (its own dependencies
    /// are found next to it).
    fn lib(&self, out: &str, src: &str) -> Cc {
        self.lib_bare(out, src).args(RUNPATH_ORIGIN)
    }

    /// A PIE `out` from testbins/link/`src` (plus testbins/rt) with
    /// PT_INTERP = guardld and no RUNPATH.
    fn exe_bare(&self, out: &str, src: &str) -> Cc {
        self.cc(out)
            .pie()
            .interp(guardld())
            .source(format!("link/{src}"))
    }

    /// [`Case::exe_bare`] with DT_RUNPATH `$ORIGIN`.
    fn exe(&self, out: &str, src: &str) -> Cc {
        self.exe_bare(out, src).args(RUNPATH_ORIGIN)
    }
}

const RUNPATH_ORIGIN: [&str; 2] = ["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN"];

/// `readelf ARGS file` must contain every one of `needles`.
#[track_caller]
fn assert_readelf(args: &[&str], file: &Path, needles: &[&str]) {
    let out = readelf(args, file);
    for n in needles {
        assert!(
            out.contains(n),
            "readelf {args:?} {}: no {n:?} in\n{out}",
            file.display()
        );
    }
}

// ------------------------------------------------------------------ runs ----

/// How a program is started.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    /// `/lib64/ld-linux-x86-64.so.2 [OPTS] PROG ARGS`, the reference.
    Glibc,
    /// `guardld [OPTS] PROG ARGS`.
    Explicit,
    /// `PROG ARGS` (PT_INTERP = guardld); loader options cannot be given.
    Interp,
}

/// Run `prog` with exactly the environment `env`, from `/` (so nothing is
/// found relative to the working directory by accident).
fn start(via: Via, prog: &Path, opts: &[&str], args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut c = match via {
        Via::Glibc | Via::Explicit => {
            let loader = if via == Via::Glibc { Path::new(GLIBC_LD) } else { guardld() };
            let mut c = command(loader, env);
            c.args(opts).arg(prog);
            c
        }
        Via::Interp => {
            assert!(opts.is_empty(), "loader options need an explicit run");
            command(prog, env)
        }
    };
    c.args(args).current_dir("/");
    run(&mut c)
}

/// The comparison environment: GUARDLD_TEST_SKIP_FINI=1 plus `env`.
fn cmp_env<'a>(env: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![("GUARDLD_TEST_SKIP_FINI", "1")];
    v.extend_from_slice(env);
    v
}

/// `prog ARGS` under glibc's ld.so must print `want` and exit `code`, and
/// guardld (explicitly and as PT_INTERP) must give the same stdout and exit
/// status. Loader options `opts` restrict the runs to explicit ones.
#[track_caller]
fn compare_opts(prog: &Path, opts: &[&str], args: &[&str], env: &[(&str, &str)], want: &str, code: i32) {
    let env = cmp_env(env);
    let glibc = start(Via::Glibc, prog, opts, args, &env);
    // The reference itself must be what the test expects, or the comparison
    // means nothing.
    glibc.assert_code(code).assert_stdout(want);
    let mut vias = vec![Via::Explicit];
    if opts.is_empty() {
        vias.push(Via::Interp);
    }
    for via in vias {
        let o = start(via, prog, opts, args, &env);
        println!("guardld {via:?}: {}", o.command);
        assert_same(&glibc, &o, |s| s.to_string());
    }
}

#[track_caller]
fn compare(prog: &Path, env: &[(&str, &str)], want: &str, code: i32) {
    compare_opts(prog, &[], &["a1", "a2"], env, want, code)
}

/// The object an error is about: what follows `guardld: ` on its line.
#[derive(Clone, Copy, Debug)]
enum Obj<'a> {
    /// A library (or preload), by the path guardld opened.
    File(&'a Path),
    /// The program, by its path. As PT_INTERP guardld may also call it
    /// "main program" (only [`missing_library_of_program`] insists on the
    /// path, so that one test, not every error test, shows the difference).
    Program,
    /// The program, by its path, in both modes (glibc names it).
    ProgramByPath,
}

/// guardld must refuse to start `prog`, explicitly and as PT_INTERP: exit
/// 127 (no signal, no timeout), nothing on stdout (no initializer ran), and
/// a stderr line `guardld: <object>: <reason>` whose reason holds, for each
/// group of `needles`, one of its alternatives.
#[track_caller]
fn assert_load_error(prog: &Path, env: &[(&str, &str)], obj: Obj<'_>, needles: &[&[&str]]) {
    for via in [Via::Explicit, Via::Interp] {
        let o = start(via, prog, &[], &[], env);
        println!("guardld {via:?}: {}\n{}", o.command, o.stderr_str());
        o.assert_code(127);
        assert!(o.stdout.is_empty(), "stdout not empty ({via:?})\n{}", o.describe());
        let names: Vec<String> = match obj {
            Obj::File(p) => vec![s(p).to_string()],
            Obj::ProgramByPath => vec![s(prog).to_string()],
            Obj::Program if via == Via::Interp => vec![s(prog).to_string(), "main program".to_string()],
            Obj::Program => vec![s(prog).to_string()],
        };
        let what = format!("a line `guardld: <one of {names:?}>: <reason>`, the reason holding one of each of {needles:?}");
        o.assert_stderr(&what, |e| {
            e.lines().any(|l| {
                names.iter().any(|n| {
                    l.strip_prefix(&format!("guardld: {n}: ")).is_some_and(|reason| {
                        needles.iter().all(|alts| alts.iter().any(|x| reason.contains(x)))
                    })
                })
            })
        });
    }
}

/// glibc's ld.so must refuse `prog` too (an exit status other than 0 —
/// mostly 127, 1 for some errors when run explicitly — no signal, nothing on
/// stdout, `needle` on stderr): the broken input is broken for the
/// reference as well.
#[track_caller]
fn assert_glibc_refuses(prog: &Path, env: &[(&str, &str)], needle: &str) {
    let o = start(Via::Glibc, prog, &[], &[], &cmp_env(env));
    if o.timed_out || !matches!(o.code(), Some(1..)) || !o.stdout.is_empty() {
        panic!("glibc's ld.so did not refuse the program\n{}", o.describe());
    }
    o.assert_stderr_contains(needle);
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ------------------------------------------------------ calls and data ----

/// Calls and data in both directions between a PIE and libbasic.so: data
/// pointers, function pointers and their equality, the library calling
/// back into the executable.
fn basic(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let lib = c.lib("libbasic.so", "basic_lib.c").build();
    let prog = c.exe("basic", "basic.c").arg(&lib).build();
    assert_readelf(&["-d"], &prog, &["(NEEDED)", "[libbasic.so]"]);
    let want = "\
lib_add(2)=42
counter=41
*counter_ptr=100
counter_ptr==&counter=1
lib_fp(1)=101
counter=101
lib_calls_back(5)=1010
lib_calls_back(5)=2010
lib_name=message from libbasic
lib_name==lib_msg=1
lib_fp==lib_add=1
lib_add_addr==lib_add=1
";
    compare(&prog, &[], want, 3);
}

layouts!(basic: basic_bfd_4k => BFD_4K, basic_bfd_64k => BFD_64K,
    basic_lld_4k => LLD_4K, basic_lld_64k => LLD_64K);

// --------------------------------------------------------- interposition ----

/// libinter.so + libpre.so + the program `interpose` (which interposes
/// who() and lib_value; greet() is the library's own).
fn build_interpose(c: &Case) -> (PathBuf, PathBuf) {
    let lib = c.lib("libinter.so", "interpose_lib.c").build();
    let pre = c.lib("libpre.so", "preload_lib.c").build();
    let prog = c.exe("interpose", "interpose.c").arg(&lib).build();
    (prog, pre)
}

/// The executable's definitions of who() and lib_value interpose the
/// library's, also for the library's own references.
fn interpose(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (prog, _) = build_interpose(&c);
    let want = "\
who=exe
lib_asks_who=exe
lib_reads_value=2
lib_reads_value=7
greet=greet from libinter
lib_asks_greet=greet from libinter
";
    compare(&prog, &[], want, 0);
}

layouts!(interpose: interpose_bfd_4k => BFD_4K, interpose_bfd_64k => BFD_64K,
    interpose_lld_4k => LLD_4K, interpose_lld_64k => LLD_64K);

const PRELOADED: &str = "\
init pre
who=exe
lib_asks_who=exe
lib_reads_value=2
lib_reads_value=7
greet=greet from libpre
lib_asks_greet=greet from libpre
";

/// A preloaded library (LD_PRELOAD by path, by bare name found through
/// LD_LIBRARY_PATH, `--preload`) interposes greet() for the program and for
/// libinter.so; the program's own definitions still come first.
fn preload(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (prog, pre) = build_interpose(&c);
    compare(&prog, &[("LD_PRELOAD", s(&pre))], PRELOADED, 0);
    compare(
        &prog,
        &[("LD_PRELOAD", "libpre.so"), ("LD_LIBRARY_PATH", s(&c.dir))],
        PRELOADED,
        0,
    );
    // The loader option (glibc's ld.so has --preload too).
    compare_opts(&prog, &["--preload", s(&pre)], &[], &[], PRELOADED, 0);
    // A preload that does not exist is an error naming it.
    let gone = c.path("libgone.so");
    assert_load_error(&prog, &[("LD_PRELOAD", s(&gone))], Obj::File(&gone), &[&["No such file", "cannot"]]);
}

layouts!(preload: preload_bfd_4k => BFD_4K, preload_bfd_64k => BFD_64K,
    preload_lld_4k => LLD_4K, preload_lld_64k => LLD_64K);

/// A preload named without '/' is searched like a DT_NEEDED of the program
/// (glibc's rtld maps preloads with the main program as the requester), so
/// the program's DT_RUNPATH ($ORIGIN here) finds it with no LD_LIBRARY_PATH.
fn preload_runpath(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (prog, _) = build_interpose(&c);
    compare(&prog, &[("LD_PRELOAD", "libpre.so")], PRELOADED, 0);
}

layouts!(preload_runpath: preload_runpath_bfd_4k => BFD_4K, preload_runpath_bfd_64k => BFD_64K,
    preload_runpath_lld_4k => LLD_4K, preload_runpath_lld_64k => LLD_64K);

// ----------------------------------------------------- init/fini order ----

/// The diamond exe -> A, B; A -> C; B -> C.
fn build_diamond(c: &Case) -> PathBuf {
    let lc = c
        .lib("libdc.so", "diamond_c.c")
        .arg("-Wl,-init=dc_init")
        .arg("-Wl,-fini=dc_fini")
        .build();
    assert_readelf(&["-d"], &lc, &["(INIT)", "(FINI)", "(INIT_ARRAY)", "(FINI_ARRAY)"]);
    let la = c.lib("libda.so", "diamond_a.c").arg(&lc).build();
    let lb = c.lib("libdb.so", "diamond_b.c").arg(&lc).build();
    c.exe("diamond", "diamond.c").arg(&la).arg(&lb).build()
}

/// Initializers in glibc's order (dependencies first; C's DT_INIT before
/// its DT_INIT_ARRAY, which runs in array order) with (argc, argv, envp).
const DIAMOND_INIT: &str = "\
init C DT_INIT argc=3
init C 1 argc=3
init C 1 argv[1]=a1
init C 1 envc=1
init C 2
init B
init A
main
da+db=203
";

/// Finalizers, written by hand from glibc's documented rule (glibc cannot
/// run them for a libc-less program): the exact reverse of the init order;
/// within one object DT_FINI_ARRAY from last to first, then DT_FINI.
const DIAMOND_FINI: &str = "\
fini A
fini B
fini C 2
fini C 1
fini C DT_FINI
";

fn init_fini(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let prog = build_diamond(&c);
    compare(&prog, &[], DIAMOND_INIT, 5);
    // Now with the finalizer (%rdx) called by the program's start code.
    let want = format!("{DIAMOND_INIT}{DIAMOND_FINI}");
    for via in [Via::Explicit, Via::Interp] {
        start(via, &prog, &[], &["a1", "a2"], &[("X", "y")])
            .assert_code(5)
            .assert_stdout(&want);
    }
}

layouts!(init_fini: init_fini_bfd_4k => BFD_4K, init_fini_bfd_64k => BFD_64K,
    init_fini_lld_4k => LLD_4K, init_fini_lld_64k => LLD_64K);

// ------------------------------------------------------ symbol versions ----

/// libver.so in three builds: build1/ (vfunc@@VERS_1), the case directory
/// (vfunc@VERS_1 + vfunc@@VERS_2), build3/ (VERS_2 defined, but vfunc only at
/// VERS_1). `ver_old` was linked against build1, `ver_new` against the
/// second build; both find libver.so through RUNPATH $ORIGIN.
struct Versions {
    v1: PathBuf,
    v3: PathBuf,
    old: PathBuf,
    new: PathBuf,
}

fn build_versions(c: &Case) -> Versions {
    let map = |m: &str| format!("-Wl,--version-script={}", testbins().join("link").join(m).display());
    let v1 = c.lib("build1/libver.so", "ver_v1.c").arg(map("ver_v1.map")).build();
    let v2 = c.lib("libver.so", "ver_v2.c").arg(map("ver_v2.map")).build();
    let v3 = c.lib("build3/libver.so", "ver_v3.c").arg(map("ver_v3.map")).build();
    assert_readelf(&["--dyn-syms", "-V"], &v2, &["vfunc@VERS_1", "vfunc@@VERS_2"]);
    assert_readelf(&["--dyn-syms"], &v3, &["vfunc@@VERS_1", "vother@@VERS_2"]);
    let old = c.exe("ver_old", "ver.c").arg(&v1).build();
    let new = c.exe("ver_new", "ver.c").arg(&v2).build();
    assert_readelf(&["-V"], &old, &["Name: VERS_1"]);
    assert_readelf(&["-V"], &new, &["Name: VERS_2"]);
    Versions { v1, v3, old, new }
}

/// The old binary keeps calling vfunc@VERS_1 after libver.so was rebuilt
/// with vfunc@@VERS_2 as the default; a new binary gets VERS_2. An old
/// binary with the old library works too.
fn versions(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let v = build_versions(&c);
    compare(&v.old, &[], "vfunc=1\nvia pointer=1\n", 0);
    compare(&v.new, &[], "vfunc=2\nvia pointer=2\n", 0);
    let build1 = v.v1.parent().unwrap();
    compare(&v.old, &[("LD_LIBRARY_PATH", s(build1))], "vfunc=1\nvia pointer=1\n", 0);
}

layouts!(versions: versions_bfd_4k => BFD_4K, versions_bfd_64k => BFD_64K,
    versions_lld_4k => LLD_4K, versions_lld_64k => LLD_64K);

/// A program needing VERS_2 with a libver.so that has no VERS_2 at all:
/// glibc's `LIB: version `VERS_2' not found (required by PROG)`, naming
/// the library that lacks it, the version and the program.
fn version_missing(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let v = build_versions(&c);
    let env = [("LD_LIBRARY_PATH", s(v.v1.parent().unwrap()))];
    assert_glibc_refuses(&v.new, &env, "VERS_2");
    let required_by = format!("(required by {})", s(&v.new));
    assert_load_error(&v.new, &env, Obj::File(&v.v1), &[&["version `VERS_2' not found"], &[&required_by]]);
}

layouts!(version_missing: version_missing_bfd_4k => BFD_4K, version_missing_bfd_64k => BFD_64K,
    version_missing_lld_4k => LLD_4K, version_missing_lld_64k => LLD_64K);

/// libver.so defines VERS_2 but not vfunc@VERS_2: the symbol lookup fails
/// (eagerly: guardld does not bind lazily), naming the symbol, the version
/// and the program.
fn version_symbol_missing(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let v = build_versions(&c);
    let env = [("LD_LIBRARY_PATH", s(v.v3.parent().unwrap()))];
    // glibc binds PLT slots lazily: make it look vfunc up at startup too.
    assert_glibc_refuses(&v.new, &[env[0], ("LD_BIND_NOW", "1")], "vfunc");
    assert_load_error(&v.new, &env, Obj::Program, &[&["vfunc"], &["VERS_2"]]);
}

layouts!(version_symbol_missing: version_symbol_missing_bfd_4k => BFD_4K, version_symbol_missing_bfd_64k => BFD_64K,
    version_symbol_missing_lld_4k => LLD_4K, version_symbol_missing_lld_64k => LLD_64K);

// ------------------------------------------------------ copy relocations ----

/// A non-PIE executable copies libcopy.so's table and banner
/// (R_X86_64_COPY); the library then uses the executable's copies, and its
/// &lib_sum is the executable's canonical PLT entry.
fn copy_reloc(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let lib = c.lib("libcopy.so", "copy_lib.c").build();
    let prog = c.exe("copy", "copy.c").no_pie().arg(&lib).build();
    assert_readelf(&["-h"], &prog, &["EXEC (Executable file)"]);
    assert_readelf(&["-rW"], &prog, &["R_X86_64_COPY"]);
    let want = "\
table[3]=4
lib_sum=10
lib_sum after table[0]=100=109
same table=1
same banner=1
banner=banner from libcopy
same &lib_sum=1
";
    compare(&prog, &[], want, 0);
}

layouts!(copy_reloc: copy_reloc_bfd_4k => BFD_4K, copy_reloc_bfd_64k => BFD_64K,
    copy_reloc_lld_4k => LLD_4K, copy_reloc_lld_64k => LLD_64K);

// ------------------------------------------------------------------ IFUNC ----

/// libifunc.so's IFUNC pick() (resolver reading relocated data), called from
/// the program and the library, its address compared; and the program's own
/// IFUNC (R_X86_64_IRELATIVE).
fn ifunc(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let lib = c.lib("libifunc.so", "ifunc_lib.c").build();
    // readelf names STT_GNU_IFUNC "IFUNC" only in objects marked ELFOSABI_GNU.
    let syms = readelf(&["--dyn-syms", "-W"], &lib);
    assert!(
        syms.lines().any(|l| l.ends_with(" pick") && (l.contains("IFUNC") || l.contains("specific>: 10"))),
        "pick is not an IFUNC in libifunc.so:\n{syms}"
    );
    let prog = c.exe("ifunc", "ifunc.c").arg(&lib).build();
    assert_readelf(&["-rW"], &prog, &["R_X86_64_IRELATIVE"]);
    let want = "\
pick=2
lib_calls_pick=2
lib_pick_addr()()=2
same &pick=1
exe_pick=20
exe_pick_ptr()=20
";
    compare(&prog, &[], want, 0);
}

layouts!(ifunc: ifunc_bfd_4k => BFD_4K, ifunc_bfd_64k => BFD_64K,
    ifunc_lld_4k => LLD_4K, ifunc_lld_64k => LLD_64K);

// ------------------------------------------------------------------- weak ----

/// Weak references to missing symbols are 0 (in the program and in a
/// library); weak references to present ones bind; a weak definition found
/// first in scope order beats a later strong one.
fn weak(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let lib = c.lib("libweak.so", "weak_lib.c").build();
    let lib2 = c.lib("libweak2.so", "weak_lib2.c").build();
    assert_readelf(&["-rW"], &lib, &["missing_fn", "missing_data", "weak2_fn"]);
    let prog = c.exe("weak", "weak.c").arg(&lib).arg(&lib2).build();
    let want = "\
exe missing_fn==0=1
exe &missing_data==0=1
exe lib_present=77
lib weak_report=4
lib weak2_value=42
weakdef=weak definition in libweak
lib_weakdef=weak definition in libweak
";
    compare(&prog, &[], want, 0);
}

layouts!(weak: weak_bfd_4k => BFD_4K, weak_bfd_64k => BFD_64K,
    weak_lld_4k => LLD_4K, weak_lld_64k => LLD_64K);

// ---------------------------------------------------------- search paths ----

/// The program `origin` with DT_RUNPATH `$ORIGIN/sub`, sub/libo1.so with
/// DT_RUNPATH `$ORIGIN` needing sub/libo2.so.
fn build_origin(c: &Case) -> PathBuf {
    let o2 = c.lib("sub/libo2.so", "origin_lib2.c").build();
    let o1 = c.lib("sub/libo1.so", "origin_lib1.c").arg(&o2).build();
    let prog = c
        .exe_bare("origin", "origin.c")
        .args(["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/sub"])
        .arg(&o1)
        .build();
    let d = readelf(&["-d"], &prog);
    assert!(
        d.contains("(RUNPATH)") && d.contains("[$ORIGIN/sub]") && !d.contains("(RPATH)"),
        "--enable-new-dtags did not give DT_RUNPATH $ORIGIN/sub:\n{d}"
    );
    prog
}

fn origin(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let prog = build_origin(&c);
    compare(&prog, &[], "o1=hello from sub/libo2\n", 0);
    // A relative program path: $ORIGIN is still the program's directory.
    let env = cmp_env(&[]);
    let run_rel = |loader: &Path| {
        let mut cmd = command(loader, &env);
        cmd.arg("./origin").current_dir(&c.dir);
        run(&mut cmd)
    };
    let glibc = run_rel(Path::new(GLIBC_LD));
    glibc.assert_code(0).assert_stdout("o1=hello from sub/libo2\n");
    assert_same(&glibc, &run_rel(guardld()), |s| s.to_string());
}

layouts!(origin: origin_bfd_4k => BFD_4K, origin_bfd_64k => BFD_64K,
    origin_lld_4k => LLD_4K, origin_lld_64k => LLD_64K);

/// Two builds of libpick.so (same soname) in a/ and b/: LD_LIBRARY_PATH
/// (and --library-path) beats DT_RUNPATH; DT_RPATH beats LD_LIBRARY_PATH.
fn library_path(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let a = c.lib("a/libpick.so", "pick_lib.c").arg("-DWHICH=\"a\"").build();
    c.lib("b/libpick.so", "pick_lib.c").arg("-DWHICH=\"b\"").build();
    let b_dir = c.path("b");
    let runpath = c
        .exe_bare("runpath", "pick.c")
        .args(["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/a"])
        .arg(&a)
        .build();
    assert_readelf(&["-d"], &runpath, &["(RUNPATH)"]);
    let rpath = c
        .exe_bare("rpath", "pick.c")
        .args(["-Wl,--disable-new-dtags", "-Wl,-rpath,$ORIGIN/a"])
        .arg(&a)
        .build();
    assert_readelf(&["-d"], &rpath, &["(RPATH)"]);

    let from_a = "which=libpick from a\n";
    let from_b = "which=libpick from b\n";
    compare(&runpath, &[], from_a, 0);
    compare(&runpath, &[("LD_LIBRARY_PATH", s(&b_dir))], from_b, 0);
    // An element that does not exist first, then b.
    let two = format!("{}:{}", c.path("nowhere").display(), b_dir.display());
    compare(&runpath, &[("LD_LIBRARY_PATH", &two)], from_b, 0);
    compare_opts(&runpath, &["--library-path", s(&b_dir)], &[], &[], from_b, 0);
    // --library-path replaces LD_LIBRARY_PATH (a/ there would win over b/).
    let a_dir = c.path("a");
    compare_opts(&runpath, &["--library-path", s(&b_dir)], &[], &[("LD_LIBRARY_PATH", s(&a_dir))], from_b, 0);
    compare(&rpath, &[], from_a, 0);
    compare(&rpath, &[("LD_LIBRARY_PATH", s(&b_dir))], from_a, 0);
}

layouts!(library_path: library_path_bfd_4k => BFD_4K, library_path_bfd_64k => BFD_64K,
    library_path_lld_4k => LLD_4K, library_path_lld_64k => LLD_64K);

// ------------------------------------------------------ dependency graphs ----

const CHAIN: usize = 30;

/// lib0 -> lib1 -> ... -> lib29, each calling the next; initializers run
/// from the end of the chain back.
fn chain(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let mut next: Option<PathBuf> = None;
    for i in (0..CHAIN).rev() {
        let mut cc = c
            .lib(&format!("libchain{i}.so"), "chain_lib.c")
            .arg(format!("-DFN=chain{i}"))
            .arg(format!("-DNAME=\"{i}\""));
        if let Some(n) = &next {
            cc = cc.arg(format!("-DNEXT=chain{}", i + 1)).arg(n);
        }
        next = Some(cc.build());
    }
    let prog = c.exe("chain", "chain.c").arg(next.unwrap()).build();
    let mut want = String::new();
    for i in (0..CHAIN).rev() {
        want += &format!("init chain {i}\n");
    }
    want += &format!("main\ndepth={CHAIN}\n");
    compare(&prog, &[], &want, 0);
}

layouts!(chain: chain_bfd_4k => BFD_4K, chain_bfd_64k => BFD_64K,
    chain_lld_4k => LLD_4K, chain_lld_64k => LLD_64K);

/// libcyca.so <-> libcycb.so NEED each other; libself.so NEEDs itself. Both
/// load (once each) and run.
fn cycle(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let b0 = c.lib("stage0/libcycb.so", "cycle_b.c").build();
    let a = c.lib("libcyca.so", "cycle_a.c").arg(&b0).build();
    let b = c.lib("libcycb.so", "cycle_b.c").arg(&a).build();
    let self0 = c.lib("stage0/libself.so", "cycle_self.c").build();
    let me = c.lib("libself.so", "cycle_self.c").arg(&self0).build();
    assert_readelf(&["-d"], &a, &["[libcycb.so]"]);
    assert_readelf(&["-d"], &b, &["[libcyca.so]"]);
    assert_readelf(&["-d"], &me, &["[libself.so]"]);
    let prog = c.exe("cycle", "cycle.c").arg(&a).arg(&me).build();
    // The order within the cycle is glibc's (checked by the comparison).
    let want = "\
init cyca
init cycb
init self
main
cyc_a(5)=23
self_calls_self=10
";
    compare(&prog, &[], want, 0);
}

layouts!(cycle: cycle_bfd_4k => BFD_4K, cycle_bfd_64k => BFD_64K,
    cycle_lld_4k => LLD_4K, cycle_lld_64k => LLD_64K);

// ------------------------------------------------------------------ RELR ----

fn relr(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let packed = "-Wl,-z,pack-relative-relocs";
    let lib = c.lib("librelr.so", "relr_lib.c").arg(packed).build();
    let prog = c.exe("relr", "relr.c").arg(packed).arg(&lib).build();
    for f in [&lib, &prog] {
        assert_readelf(&["-d"], f, &["(RELR)", "(RELRSZ)"]);
    }
    // The packed pointer at an odd address stays a RELATIVE in .rela.dyn.
    assert_readelf(&["-rW"], &lib, &["R_X86_64_RELATIVE"]);
    let want = "\
exe bad=0
exe my_names[2]=gamma
lib bad=0
lib *ptrs[10]=10
";
    compare(&prog, &[], want, 0);
}

layouts!(relr: relr_bfd_4k => BFD_4K, relr_bfd_64k => BFD_64K,
    relr_lld_4k => LLD_4K, relr_lld_64k => LLD_64K);

// -------------------------------------------------------- list / trace ----

/// `name => path` of every line of ldd-style output, sorted.
fn resolved(out: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once(" => ")?;
            let path = rest.split(" (").next()?.trim();
            Some((name.to_string(), path.to_string()))
        })
        .collect();
    v.sort();
    v
}

/// `guardld --list PROG` and LD_TRACE_LOADED_OBJECTS=1 (explicit and
/// PT_INTERP) exit 0 without running the program, listing every library
/// with the path it resolved to, as glibc's ld.so does.
fn list(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let prog = build_origin(&c);
    let want = vec![
        ("libo1.so".to_string(), s(&c.path("sub/libo1.so")).to_string()),
        ("libo2.so".to_string(), s(&c.path("sub/libo2.so")).to_string()),
    ];
    let glibc = start(Via::Glibc, &prog, &["--list"], &[], &[]);
    glibc.assert_code(0);
    assert_eq!(resolved(&glibc.stdout_str()), want, "glibc --list:\n{}", glibc.describe());
    let trace = [("LD_TRACE_LOADED_OBJECTS", "1")];
    let runs = [
        start(Via::Explicit, &prog, &["--list"], &[], &[]),
        start(Via::Explicit, &prog, &[], &[], &trace),
        start(Via::Interp, &prog, &[], &[], &trace),
    ];
    for o in &runs {
        o.assert_code(0);
        assert!(!o.stdout_str().contains("o1="), "the program ran\n{}", o.describe());
        assert_eq!(resolved(&o.stdout_str()), want, "listing differs\n{}", o.describe());
    }
}

layouts!(list: list_bfd_4k => BFD_4K, list_bfd_64k => BFD_64K,
    list_lld_4k => LLD_4K, list_lld_64k => LLD_64K);

// ---------------------------------------------------------------- errors ----

/// The error victim: `err` -> liberr.so -> libdep.so, all fine as built.
fn build_err(c: &Case) -> (PathBuf, PathBuf) {
    let dep = c.lib("libdep.so", "err_dep.c").build();
    let lib = c.lib("liberr.so", "err_lib.c").arg(&dep).build();
    let prog = c.exe("err", "err.c").arg(&lib).build();
    (prog, lib)
}

/// The unbroken victim runs (so the errors below come from the damage).
fn err_sane(prog: &Path) {
    compare(prog, &[], "init liberr (must not run)\nerr_fn=12\n", 0);
}

/// A library's NEEDED library that is nowhere: names it and the library
/// needing it.
fn missing_library(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (prog, lib) = build_err(&c);
    err_sane(&prog);
    std::fs::remove_file(c.path("libdep.so")).unwrap();
    assert_glibc_refuses(&prog, &[], "libdep.so");
    assert_load_error(&prog, &[], Obj::File(&lib), &[&["libdep.so"]]);
}

layouts!(missing_library: missing_library_bfd_4k => BFD_4K, missing_library_bfd_64k => BFD_64K,
    missing_library_lld_4k => LLD_4K, missing_library_lld_64k => LLD_64K);

/// The program's own NEEDED library is nowhere: names it and the program
/// (by its path, as PT_INTERP too, as glibc's ld.so does).
fn missing_library_of_program(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (prog, lib) = build_err(&c);
    std::fs::remove_file(&lib).unwrap();
    assert_glibc_refuses(&prog, &[], "liberr.so");
    assert_load_error(&prog, &[], Obj::ProgramByPath, &[&["liberr.so"]]);
}

layouts!(missing_library_of_program: missing_library_of_program_bfd_4k => BFD_4K,
    missing_library_of_program_bfd_64k => BFD_64K,
    missing_library_of_program_lld_4k => LLD_4K,
    missing_library_of_program_lld_64k => LLD_64K);

/// libdep.so rebuilt without dep_data and dep_fn: names the symbol and the
/// object referring to it.
fn missing_symbol(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (prog, lib) = build_err(&c);
    err_sane(&prog);
    c.lib("libdep.so", "err_dep.c").arg("-DBROKEN").build();
    assert_glibc_refuses(&prog, &[], "dep_data");
    assert_load_error(&prog, &[], Obj::File(&lib), &[&["dep_data"]]);
    assert_load_error(&prog, &[], Obj::File(&lib), &[&["dep_fn"]]);
}

layouts!(missing_symbol: missing_symbol_bfd_4k => BFD_4K, missing_symbol_bfd_64k => BFD_64K,
    missing_symbol_lld_4k => LLD_4K, missing_symbol_lld_64k => LLD_64K);

/// An IFUNC resolver needing a symbol that is missing: the error is
/// reported and no resolver runs (it would read the unset GOT slot and
/// fault): exit 127 with the symbol named, never a fault report.
fn ifunc_after_error(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let dep = c.lib("libdep.so", "err_dep.c").build();
    let lib = c.lib("libifunc_err.so", "ifunc_err_lib.c").arg(&dep).build();
    let prog = c.exe("ifunc_err", "ifunc_err.c").arg(&lib).build();
    compare(&prog, &[], "hooked=3\n", 0);
    c.lib("libdep.so", "err_dep.c").arg("-DBROKEN").build();
    assert_glibc_refuses(&prog, &[], "hook_table");
    assert_load_error(&prog, &[], Obj::File(&lib), &[&["undefined symbol: hook_table"]]);
    for via in [Via::Explicit, Via::Interp] {
        let o = start(via, &prog, &[], &[], &[]);
        o.assert_stderr("no fault report", |e| !e.contains("invalid memory access") && !e.contains("bus error"));
    }
}

layouts!(ifunc_after_error: ifunc_after_error_bfd_4k => BFD_4K, ifunc_after_error_bfd_64k => BFD_64K,
    ifunc_after_error_lld_4k => LLD_4K, ifunc_after_error_lld_64k => LLD_64K);

/// File offsets of the 24-byte entries of `section` (.rela.dyn, .rela.plt).
fn rela_entries(data: &[u8], section: &str) -> Vec<usize> {
    let f = ElfFile64::<object::Endianness>::parse(data).unwrap();
    let Some(sec) = f.section_by_name(section) else { return Vec::new() };
    let (off, size) = sec.file_range().unwrap();
    (0..size as usize / 24).map(|k| off as usize + k * 24).collect()
}

fn u64_at(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

fn put_u64(d: &mut [u8], at: usize, v: u64) {
    d[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The index of symbol `name` in .dynsym.
fn dynsym_index(data: &[u8], name: &str) -> u64 {
    let f = ElfFile64::<object::Endianness>::parse(data).unwrap();
    f.dynamic_symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("no dynamic symbol {name}"))
        .index()
        .0 as u64
}

/// Rewrite `lib` in place with `patch` (the mapped copies of the original
/// are untouched: write a new file and rename it over).
fn patch_file(lib: &Path, patch: impl FnOnce(&mut Vec<u8>)) {
    let mut d = std::fs::read(lib).unwrap();
    patch(&mut d);
    let tmp = lib.with_extension("patched");
    std::fs::write(&tmp, &d).unwrap();
    std::fs::rename(&tmp, lib).unwrap();
}

/// The relocation against `sym` in liberr.so's .rela.dyn.
fn rela_against(d: &[u8], sym: &str) -> usize {
    let idx = dynsym_index(d, sym);
    *rela_entries(d, ".rela.dyn")
        .iter()
        .find(|&&at| u64_at(d, at + 8) >> 32 == idx)
        .unwrap_or_else(|| panic!("no .rela.dyn entry against {sym}"))
}

/// A relocation of type 42 (R_X86_64_REX_GOTPCRELX: link-time only) in
/// liberr.so: names the object and the type.
fn bad_reloc_type(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (prog, lib) = build_err(&c);
    err_sane(&prog);
    patch_file(&lib, |d| {
        let at = rela_against(d, "dep_data");
        let info = u64_at(d, at + 8);
        put_u64(d, at + 8, (info & !0xffff_ffff) | 42);
    });
    assert_readelf(&["-rW"], &lib, &["R_X86_64_REX_GOTPCRELX"]);
    assert_load_error(&prog, &[], Obj::File(&lib), &[&["relocation"], &["42", "0x2a"]]);
}

layouts!(bad_reloc_type: bad_reloc_type_bfd_4k => BFD_4K, bad_reloc_type_bfd_64k => BFD_64K,
    bad_reloc_type_lld_4k => LLD_4K, bad_reloc_type_lld_64k => LLD_64K);

/// A relocation whose symbol index is 0xffffff, far past the symbol table.
fn bad_symbol_index(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (prog, lib) = build_err(&c);
    err_sane(&prog);
    patch_file(&lib, |d| {
        let at = rela_against(d, "dep_data");
        let info = u64_at(d, at + 8);
        put_u64(d, at + 8, (0xff_ffff << 32) | (info & 0xffff_ffff));
    });
    assert_load_error(&prog, &[], Obj::File(&lib), &[&["symbol"], &["16777215", "0xffffff"]]);
}

layouts!(bad_symbol_index: bad_symbol_index_bfd_4k => BFD_4K, bad_symbol_index_bfd_64k => BFD_64K,
    bad_symbol_index_lld_4k => LLD_4K, bad_symbol_index_lld_64k => LLD_64K);

/// (file offset, file size) of PT_DYNAMIC and the file offset of its
/// program header.
fn pt_dynamic(d: &[u8]) -> (usize, usize, usize) {
    let f = ElfFile64::<object::Endianness>::parse(d).unwrap();
    let e = f.endian();
    let phoff = u64_at(d, 0x20) as usize;
    let (k, ph) = f
        .elf_program_headers()
        .iter()
        .enumerate()
        .find(|(_, p)| p.p_type(e) == object::elf::PT_DYNAMIC)
        .expect("no PT_DYNAMIC");
    (ph.p_offset(e) as usize, ph.p_filesz(e) as usize, phoff + k * 56)
}

/// The (tag, value) file offsets of liberr.so's dynamic entries up to and
/// including the first DT_NULL.
fn dyn_entries(d: &[u8]) -> Vec<(u64, usize)> {
    let (off, size, _) = pt_dynamic(d);
    let mut v = Vec::new();
    for at in (off..off + size).step_by(16) {
        let tag = u64_at(d, at);
        v.push((tag, at));
        if tag == 0 {
            break;
        }
    }
    v
}

/// A dynamic section that never ends: (1) PT_DYNAMIC cut to its first two
/// entries; (2) DT_NULL and every entry after it up to the end of PT_DYNAMIC
/// overwritten with DT_FLAGS_1 = 0.
fn truncated_dynamic(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (prog, lib) = build_err(&c);
    err_sane(&prog);
    let orig = std::fs::read(&lib).unwrap();
    let needles: &[&[&str]] = &[&["dynamic", "DT_NULL"]];

    patch_file(&lib, |d| {
        let (_, _, ph) = pt_dynamic(d);
        put_u64(d, ph + 32, 32); // p_filesz
        put_u64(d, ph + 40, 32); // p_memsz
    });
    assert_load_error(&prog, &[], Obj::File(&lib), needles);

    std::fs::write(&lib, &orig).unwrap();
    err_sane(&prog);
    patch_file(&lib, |d| {
        let (off, size, _) = pt_dynamic(d);
        let &(_, null_at) = dyn_entries(d).last().unwrap();
        assert_eq!(u64_at(d, null_at), 0, "no DT_NULL in PT_DYNAMIC");
        for at in (null_at..off + size).step_by(16) {
            put_u64(d, at, object::elf::DT_FLAGS_1 as u64);
            put_u64(d, at + 8, 0);
        }
    });
    assert_load_error(&prog, &[], Obj::File(&lib), needles);
}

layouts!(truncated_dynamic: truncated_dynamic_bfd_4k => BFD_4K, truncated_dynamic_bfd_64k => BFD_64K,
    truncated_dynamic_lld_4k => LLD_4K, truncated_dynamic_lld_64k => LLD_64K);

/// liberr.so's DT_NEEDED pointing past the end of its string table.
fn needed_past_strsz(test: &str, l: Layout) {
    let c = Case::new(test, l);
    let (prog, lib) = build_err(&c);
    err_sane(&prog);
    patch_file(&lib, |d| {
        let es = dyn_entries(d);
        let strsz = es
            .iter()
            .find(|&&(t, _)| t == object::elf::DT_STRSZ as u64)
            .map(|&(_, at)| u64_at(d, at + 8))
            .expect("no DT_STRSZ");
        let &(_, at) = es
            .iter()
            .find(|&&(t, _)| t == object::elf::DT_NEEDED as u64)
            .expect("no DT_NEEDED");
        put_u64(d, at + 8, strsz + 0x100);
    });
    assert_load_error(&prog, &[], Obj::File(&lib), &[&["DT_NEEDED"]]);
}

layouts!(needed_past_strsz: needed_past_strsz_bfd_4k => BFD_4K, needed_past_strsz_bfd_64k => BFD_64K,
    needed_past_strsz_lld_4k => LLD_4K, needed_past_strsz_lld_64k => LLD_64K);
