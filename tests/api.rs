//! guardld's runtime API (include/guardld.h, loader/src/api.rs) as a
//! libc-less program sees it: dlopen/dlsym/dlclose/dlerror/dladdr/
//! dl_iterate_phdr/guardld_guards, threads' TLS for dlopened libraries,
//! debugger support under gdb, and the zygote tool (zygote/).
//!
//! The expected values are written here by hand: glibc's ld.so cannot be
//! the reference, because a libc-less program has no dlopen of glibc's to
//! call (glibc's dlopen lives in libc.so, which these programs do not
//! load), and guardld's own API is what is under test. Each constant says
//! where its numbers come from; the C sources are in testbins/api/.
//!
//! Every program is linked with rust-lld against the guardld binary itself
//! (NEEDED ld-guardld.so.1, which resolves to guardld), 64 KiB
//! max-page-size (so every object has padding between its segments), and
//! finds its libraries through DT_RUNPATH $ORIGIN.
//!
//! Four loader bugs this file found (RTLD_NOLOAD references, NODELETE
//! dependencies, TLS surplus reuse, the caller's RUNPATH) are fixed; their
//! tests state glibc's behaviour and now run with the others.
//!
//! Run: `cargo test --release --test api` from the workspace root.

mod common;

use common::*;
use object::read::elf::{ElfFile64, ProgramHeader as _};
use object::Endianness;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

// ------------------------------------------------------------ building ----

/// The programs and libraries of this file, built once per test process
/// into target/itest/testbins/api/bins/.
struct Bins {
    dir: PathBuf,
    /// testbins/api/api.c: one subtest per run (`api tls`, `api sym`, ...).
    api: PathBuf,
    /// testbins/api/gdbprog.c, NEEDs libapigdb.so, dlopens libapigdbdl.so.
    gdbprog: PathBuf,
}

const DIR: &str = "api/bins";

/// gcc with this file's layout: rust-lld, 64 KiB pages, RELRO, immediate
/// binding, RUNPATH $ORIGIN, every library given a DT_NEEDED, guardld.h on
/// the include path.
fn cc(out: &str) -> Cc {
    Cc::new(DIR, out)
        .linker(Linker::Lld)
        .page_size(65536)
        .arg("-I")
        .arg(workspace().join("include"))
        .args(["-fno-tree-loop-distribute-patterns", "-Wl,-z,relro", "-Wl,-z,now", "-Wl,--no-as-needed"])
        .args(["-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN"])
}

/// A shared library from testbins/api/`src` with DT_SONAME = `out`, linked
/// against the libraries in `deps` (`-lNAME` from the build directory).
fn lib(out: &str, src: &str, extra: &[&str]) -> PathBuf {
    let dir = itest_dir().join("testbins").join(DIR);
    let soname = Path::new(out).file_name().unwrap().to_str().unwrap();
    cc(out)
        .shared()
        .source(format!("api/{src}"))
        .arg(format!("-Wl,-soname,{soname}"))
        .arg(format!("-L{}", dir.display()))
        .args(extra)
        .build()
}

fn bins() -> &'static Bins {
    static B: OnceLock<Bins> = OnceLock::new();
    B.get_or_init(|| {
        let dir = out_dir(DIR);
        let g = guardld().to_str().unwrap().to_string();
        lib("libapidep.so", "dep.c", &[]);
        // General-dynamic TLS: __tls_get_addr from the guardld binary.
        lib("libapitls.so", "tls.c", &["-ftls-model=global-dynamic", "-lapidep", &g]);
        lib("libapinext.so", "next.c", &[]);
        lib("libapiclosedep.so", "closedep.c", &[]);
        lib("libapiclose.so", "close.c", &["-lapiclosedep", "-Wl,-fini,close_dt_fini"]);
        lib("libapireldep_b.so", "reldep.c", &["-DRELDEP_B"]);
        // rd_fb is left to whatever defines it when it is loaded.
        lib("libapireldep_user.so", "reldep.c", &["-DRELDEP_USER", "-Wl,--unresolved-symbols=ignore-all"]);
        // libapibad.so NEEDs libapimissing.so, deleted once linked.
        let missing = lib("libapimissing.so", "bad.c", &["-DBAD_MISSING_LIB"]);
        lib("libapibad.so", "bad.c", &["-DBAD_MISSING_DEP", "-lapimissing"]);
        std::fs::remove_file(&missing).unwrap();
        lib("libapiundefdep.so", "bad.c", &["-DBAD_UNDEFDEP"]);
        lib("libapiundef.so", "bad.c", &["-DBAD_UNDEF", "-lapiundefdep"]);
        lib("libapigdb.so", "gdblib.c", &["-DGDB_LIB"]);
        lib("libapigdbdl.so", "gdblib.c", &["-DGDB_DL"]);
        // Only in sub/, which the executable's RUNPATH does not cover.
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        lib("sub/libapisub.so", "opener.c", &["-DSUB"]);
        lib("sub/libapiopener.so", "opener.c", &[&g]);
        let api = cc("api")
            .pie()
            .interp(guardld())
            .source("api/api.c")
            .source("rt/thread.c")
            .arg(format!("-L{}", dir.display()))
            .arg("-lapinext")
            // api_hook interposes libapinext's.
            .arg("-Wl,--export-dynamic")
            .arg(guardld())
            .build();
        let gdbprog = cc("gdbprog")
            .pie()
            .interp(guardld())
            .source("api/gdbprog.c")
            .arg(format!("-L{}", dir.display()))
            .arg("-lapigdb")
            .arg(guardld())
            .build();
        let d = readelf(&["-d"], &api);
        for n in ["[libapinext.so]", "[ld-guardld.so.1]", "[$ORIGIN]"] {
            assert!(d.contains(n), "api lacks {n}:\n{d}");
        }
        Bins { dir, api, gdbprog }
    })
}

// ------------------------------------------------------------------ runs ----

#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    /// `api SUBTEST` (PT_INTERP = guardld).
    Interp,
    /// `guardld [OPTS] api SUBTEST`.
    Explicit,
}

/// Run `api SUBTEST` from `/` with the environment `env`.
fn api(via: Via, opts: &[&str], sub: &str, env: &[(&str, &str)]) -> Outcome {
    let b = bins();
    let mut c = match via {
        Via::Interp => {
            assert!(opts.is_empty());
            command(&b.api, env)
        }
        Via::Explicit => {
            let mut c = command(guardld(), env);
            c.args(opts).arg(&b.api);
            c
        }
    };
    c.arg(sub).current_dir("/");
    run(&mut c)
}

/// Both ways of starting must give exit 0, nothing on stderr, and exactly
/// `want` on stdout after `filter`.
#[track_caller]
fn expect(sub: &str, want: &str, filter: impl Fn(&str) -> String) {
    for via in [Via::Interp, Via::Explicit] {
        let o = api(via, &[], sub, &[]);
        o.assert_code(0).assert_stderr("nothing on stderr", |s| s.is_empty());
        let got = filter(&o.stdout_str());
        if got != want {
            panic!(
                "{sub} ({via:?}): stdout differs\n--- diff (- want, + got) ---\n{}\n{}",
                line_diff(want, &got),
                o.describe()
            );
        }
    }
}

/// The lines of `s` not starting with any of `prefixes`.
fn without(s: &str, prefixes: &[&str]) -> String {
    s.lines()
        .filter(|l| !prefixes.iter().any(|p| l.starts_with(p)))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `key=value` lines of `s`.
fn kv(s: &str) -> BTreeMap<String, String> {
    s.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| !k.contains(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ------------------------------------------------------------------ tls ----

/// api tls (api.c t_tls, tls.c): two threads are started (raw clone on
/// guardld_tls_alloc areas) before main dlopens libapitls.so, which NEEDs
/// libapidep.so and has general-dynamic __thread variables tls_var =
/// 0x1234 (.tdata), tls_zero (.tbss) and tls_ptr = &tls_target (.tdata
/// holding an address: the image carries a dynamic relocation, R_X86_64_64
/// against tls_target). After the dlopen each thread reads them through
/// library functions (every access is a __tls_get_addr call) and sees the
/// initial values, tls_ptr relocated (`*_ptr_ok=1`: glibc initialises the
/// running threads' blocks after relocating the object); then thread i
/// writes 0x1000 + 0x111*i to tls_var and 0x2000+i to tls_zero, main writes
/// 0x7777, and each reads back only its own value. A third thread started
/// after the dlopen sees the initial values too (idx 2: 0x1222, 0x2002).
/// tls_dep = dep_value()*2 = 14 proves the dependency is linked; dlsym of
/// the TLS symbol gives the calling thread's copy. Constructors print as
/// the dlopen runs them (dependency first), destructors at exit (reverse).
/// (guardld before 63672f9 copied the image into live threads before
/// relocating it: `thread0_ptr_ok=0`.)
const TLS_WANT: &str = "\
threads_running_before_dlopen=2
apidep: init
apitls: init
dlopen_ok=1
tls_dep=14
dlsym_tls_var_is_main_copy=1
thread0 init=0x1234 zero=0x0 after=0x1000 after_zero=0x2000
thread1 init=0x1234 zero=0x0 after=0x1111 after_zero=0x2001
late_thread init=0x1234 zero=0x0 after=0x1222 after_zero=0x2002
main init=0x1234 zero=0x0 after=0x7777
thread0_ptr_ok=1
thread1_ptr_ok=1
late_thread_ptr_ok=1
main_ptr_ok=1
addrs_distinct=1
thread_copies_below_tp=1
fails=0
apitls: fini
apidep: fini
";

#[test]
fn dlopen_tls_in_running_threads() {
    expect("tls", TLS_WANT, |s| s.to_string());
}

// ------------------------------------------------------------------ sym ----

/// api sym (api.c t_sym, next.c): the executable defines api_hook (exported)
/// and so does libapinext.so (x*10). The executable's comes first in the
/// global scope: api_hook(5) and the library's own call lib_calls_hook(5)
/// both run it, and it adds 1 to what dlsym(RTLD_NEXT, "api_hook") (the
/// library's) returns: 51. RTLD_DEFAULT finds the executable's api_hook,
/// libapinext's next_only (77) and guardld's dlopen; RTLD_NEXT from the
/// executable finds the library's api_hook (50 when called directly) and
/// guardld's dlopen, and not t_sym_exported, which only the executable
/// defines. A missing name gives NULL and `undefined symbol: NAME`, and
/// dlerror clears the error.
const SYM_WANT: &str = "\
exe_hook=51
lib_calls_hook=51
default_hook_is_exe=1
noload_next=1
next_is_lib_hook=1
lib_hook=50
default_next_only=77
default_dlopen_is_guardld=1
next_dlopen_is_guardld=1
default_missing_null=1
default_missing_err=undefined symbol: api_no_such_function
err_cleared=(none)
next_of_exe_only_null=1
fails=0
";

#[test]
fn dlsym_default_and_next() {
    expect("sym", SYM_WANT, |s| s.to_string());
}

// ---------------------------------------------------------------- close ----

/// api close (api.c t_close, close.c, closedep.c): libapiclose.so NEEDs
/// libapiclosedep.so; the dlopen runs the dependency's constructor first.
/// close_value = closedep_value() + 1 = 42. A second dlopen returns the
/// same handle; the first dlclose keeps both mapped and runs nothing; the
/// second runs the finalizers (libapiclose's DT_FINI_ARRAY, then its
/// DT_FINI, as glibc orders them, then the dependency's) and unmaps both:
/// their paths leave /proc/self/maps (counted from inside the program). A
/// dlsym on the closed handle fails. Opening again maps and initialises
/// afresh; closing again unmaps again.
const CLOSE_WANT: &str = "\
before_close_maps=0
apiclosedep: init
apiclose: init
open_ok=1
close_value=42
mapped_close=1
mapped_closedep=1
second_same_handle=1
dlclose_1=0
still_mapped_close=1
close_value_again=42
apiclose: fini_array
apiclose: dt_fini
apiclosedep: fini
dlclose_2=0
after_close_maps=0
after_closedep_maps=0
dlsym_closed_null=1
dlsym_closed_err=dlsym: invalid handle
apiclosedep: init
apiclose: init
reopen_value=42
apiclose: fini_array
apiclose: dt_fini
apiclosedep: fini
dlclose_3=0
after_reclose_maps=0
fails=0
";

#[test]
fn dlclose_runs_finalizers_and_unmaps() {
    expect("close", CLOSE_WANT, |s| s.to_string());
}

/// api nodelete (api.c t_nodelete): dlopen(libapiclose.so, RTLD_NOW |
/// RTLD_NODELETE), then dlclose: 0, and the object stays, and so does the
/// dependency it needs (libapiclosedep.so): close_value still returns 42,
/// NOLOAD still finds it, and the finalizers run only at exit, in reverse
/// init order, as glibc's _dl_fini runs them for objects never unloaded.
/// (Once a bug: dlclose dropped the dependencies' references, unmapping
/// libapiclosedep under the library still using it.)
const NODELETE_WANT: &str = "\
apiclosedep: init
apiclose: init
open_ok=1
dlclose=0
still_mapped=1
dep_still_mapped=1
close_value_after_dlclose=42
noload_finds_it=1
fails=0
apiclose: fini_array
apiclose: dt_fini
apiclosedep: fini
";

#[test]

fn rtld_nodelete_keeps_the_object_and_its_dependencies() {
    expect("nodelete", NODELETE_WANT, |s| s.to_string());
}

/// api reldep (api.c t_reldep): libapireldep_b.so dlopen'd RTLD_GLOBAL,
/// then libapireldep_user.so, whose relocation binds to b's rd_fb: b
/// survives its own dlclose while user is loaded (the call through the
/// binding works) and goes with user's dlclose, user's finalizer first.
/// Opened again and found with dlsym(RTLD_DEFAULT) by the program, b is
/// kept for good: its dlclose leaves it mapped and its finalizer runs at
/// exit. Written by hand from glibc's rules (elf/dl-lookup.c
/// add_dependency: a relocation dependency of a dlopen'd object, NODELETE
/// when the referrer is never unloaded), which tests/glibc_dlopen.rs
/// checks against glibc's ld.so itself. (The previous build unmapped b at
/// its first dlclose.)
const RELDEP_WANT: &str = "\
apireldep_b: init
apireldep_user: init
dlclose_b=0
b_mapped_while_user_is=1
use=107
apireldep_user: fini
apireldep_b: fini
dlclose_user=0
b_mapped_after_user=0
apireldep_b: init
default_found=1
dlclose_b_again=0
b_mapped_after_default=1
fails=0
apireldep_b: fini
";

#[test]
fn dlclose_keeps_objects_others_bound_to() {
    expect("reldep", RELDEP_WANT, |s| s.to_string());
}

// ----------------------------------------------------------------- addr ----

/// api addr (api.c t_addr): dladdr on dep_add (libapidep.so, reached by
/// dlsym through libapitls.so's handle): the object's path ends in
/// libapidep.so, dli_fbase is its lowest mapping in /proc/self/maps (found
/// by inode), the symbol is dep_add at exactly the function's address, also
/// for an address 3 bytes into it. On guardld's own dlopen: symbol dlopen.
/// Page 1 is in no object: 0.
const ADDR_WANT: &str = "\
apidep: init
apitls: init
dladdr_ret=1
fname_base=libapidep.so
fname_is_path=1
sname=dep_add
saddr_is_func=1
fbase_is_maps_base=1
inside_sname=dep_add
inside_saddr_is_func=1
guardld_sname=dlopen
guardld_fname_is_path=1
unmapped_ret=0
fails=0
apitls: fini
apidep: fini
";

#[test]
fn dladdr_on_library_function() {
    // Started as PT_INTERP, the program's $ORIGIN is absolute.
    let o = api(Via::Interp, &[], "addr", &[]);
    o.assert_code(0).assert_stdout(ADDR_WANT);
    // Started explicitly with an absolute path (from /), the same. (With
    // a relative program path guardld records relative library paths, e.g.
    // dli_fname "./libapidep.so", where glibc makes them absolute.)
    let o = api(Via::Explicit, &[], "addr", &[]);
    o.assert_code(0).assert_stdout(ADDR_WANT);
}

// ----------------------------------------------------------------- phdr ----

/// api phdr (api.c t_phdr): after dlopen of libapitls.so, dl_iterate_phdr
/// reports five objects: the program (name "", dlpi_phdr = AT_PHDR),
/// guardld (3 PT_LOADs), libapinext.so (3: no RELRO data, so no second RW
/// segment), libapitls.so and libapidep.so (4 each: R, RX, RW RELRO, RW).
/// For each, dlpi_addr + its first PT_LOAD's page is the lowest address
/// /proc/self/maps shows for its file (matched by inode). Only libapitls
/// has TLS (module id and this thread's block).
const PHDR_OBJECTS: &str = "\
object (program) loads=4 base_matches_maps=1 tls=0 tls_data=0 size_ok=1 phdr_is_at_phdr=1
object guardld loads=3 base_matches_maps=1 tls=0 tls_data=0 size_ok=1
object libapidep.so loads=4 base_matches_maps=1 tls=0 tls_data=0 size_ok=1
object libapinext.so loads=3 base_matches_maps=1 tls=0 tls_data=0 size_ok=1
object libapitls.so loads=4 base_matches_maps=1 tls=1 tls_data=1 size_ok=1
";

const PHDR_REST: &str = "\
apidep: init
apitls: init
iterate_ret=0
objects=5
fails=0
apitls: fini
apidep: fini
";

#[test]
fn dl_iterate_phdr_lists_every_object() {
    for via in [Via::Interp, Via::Explicit] {
        let o = api(via, &[], "phdr", &[]);
        o.assert_code(0);
        let out = o.stdout_str();
        // The program first; the order of the others is load order
        // (glibc's differs: it lists its ld.so last), so compare sorted.
        let objs: Vec<&str> = out.lines().filter(|l| l.starts_with("object ")).collect();
        assert!(objs.first().is_some_and(|l| l.starts_with("object (program)")), "{via:?}\n{}", o.describe());
        let mut sorted = objs.clone();
        sorted.sort();
        let got: String = sorted.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(got, PHDR_OBJECTS, "{via:?}\n{}", o.describe());
        assert_eq!(without(&out, &["object "]), PHDR_REST, "{via:?}\n{}", o.describe());
    }
}

// ----------------------------------------------------------------- fail ----

/// api fail (api.c t_fail, bad.c): dlopen of libapibad.so, whose NEEDed
/// libapimissing.so was deleted, and of libapiundef.so, which NEEDs
/// libapiundefdep.so (present) and calls api_no_such_symbol (defined
/// nowhere), and of a file that does not exist: NULL each time, and
/// dlerror names the missing library / symbol / file. No constructor runs
/// (bad.c's would print), no path of theirs is in /proc/self/maps
/// afterwards, and the file mappings and anonymous PROT_NONE mappings are
/// exactly those before the first attempt (/etc/ld.so.cache aside, which
/// the first search maps and keeps). Then libapiundefdep.so alone loads and
/// initialises, once.
const FAIL_WANT: &str = "\
missing_dep_null=1
missing_dep_err_names_dep=1
err_after=(none)
missing_dep_maps=0
missing_dep_maps_same=1
undef_null=1
undef_err_names_symbol=1
undef_maps=0
undefdep_maps=0
undef_maps_same=1
absent_null=1
absent_err_names_file=1
absent_maps_same=1
apiundefdep: init
undefdep_alone_ok=1
undefdep_value=2
fails=0
";

#[test]
fn failed_dlopen_leaves_nothing_mapped() {
    for via in [Via::Interp, Via::Explicit] {
        let o = api(via, &[], "fail", &[]);
        o.assert_code(0);
        let out = o.stdout_str();
        let m = kv(&out);
        // The messages themselves, as guardld words them.
        let dep_err = &m["missing_dep_err"];
        assert!(
            dep_err.ends_with("/libapibad.so: cannot find shared object libapimissing.so")
                || dep_err.contains("libapibad.so: cannot find shared object libapimissing.so ("),
            "{dep_err}"
        );
        assert!(m["undef_err"].ends_with("/libapiundef.so: undefined symbol: api_no_such_symbol"), "{}", m["undef_err"]);
        let rest = without(&out, &["missing_dep_err=", "undef_err="]);
        if rest != FAIL_WANT {
            panic!("{via:?}: stdout differs\n{}\n{}", line_diff(FAIL_WANT, &rest), o.describe());
        }
    }
}

// --------------------------------------------------------------- noload ----

/// api noload (api.c t_noload): RTLD_NOLOAD of libapitls.so before it is
/// loaded: NULL, no error (glibc: a NOLOAD miss of an existing file sets
/// none), nothing mapped. After dlopen(RTLD_LOCAL): NOLOAD returns the same
/// handle, finds its dependency libapidep.so and the start-up library
/// libapinext.so; the RTLD_LOCAL object is not in RTLD_DEFAULT's scope
/// until NOLOAD|GLOBAL promotes it.
const NOLOAD_WANT: &str = "\
noload_absent_null=1
noload_absent_err=(none)
noload_absent_maps=0
apidep: init
apitls: init
open_ok=1
noload_same_handle=1
noload_dep_found=1
noload_startup_lib_found=1
local_not_default=1
promote_same_handle=1
global_default=1
fails=0
apitls: fini
apidep: fini
";

#[test]
fn rtld_noload() {
    expect("noload", NOLOAD_WANT, |s| s.to_string());
}

/// api noload-ref (api.c t_noload_ref): a successful RTLD_NOLOAD dlopen
/// takes a reference like any dlopen (glibc increments the open count; a
/// glibc-linked check of the same sequence prints `still 1`), so closing
/// the NOLOAD handle keeps the object the first dlopen opened; the last
/// dlclose runs the finalizers and unmaps it. (Once a bug: the NOLOAD
/// path took no reference.)
const NOLOAD_REF_WANT: &str = "\
apidep: init
apitls: init
noload_same_handle=1
dlclose_noload=0
mapped_after_noload_close=1
apitls: fini
apidep: fini
dlclose_open=0
mapped_after_last_close=0
fails=0
";

#[test]

fn rtld_noload_takes_a_reference() {
    expect("noload-ref", NOLOAD_REF_WANT, |s| s.to_string());
}

// ---------------------------------------------- dlopen/dlclose edges ----

/// api tls-cycle (api.c t_tls_cycle): 500 rounds of dlopen, tls_get
/// (0x1234), dlclose of libapitls.so must all work: glibc gives a
/// general-dynamic module dynamic TLS and frees it at dlclose (a
/// glibc-linked loop over an equivalent library completes 500 rounds).
/// guardld places dlopened TLS blocks in the static surplus (1664 bytes)
/// and must give a block back at dlclose, or round 69 fails with "cannot
/// allocate thread-local storage".
#[test]

fn dlopen_dlclose_cycles_of_tls_library() {
    for via in [Via::Interp, Via::Explicit] {
        let o = api(via, &[], "tls-cycle", &[]);
        o.assert_code(0);
        let m = kv(&o.stdout_str());
        assert_eq!(m["failed_at"], "-1", "{via:?}: {:?}\n{}", m.get("cycle_err"), o.describe());
    }
}

/// api caller-runpath (api.c t_caller_runpath, opener.c): the program
/// dlopens sub/libapiopener.so by path; its opener_open calls
/// dlopen("libapisub.so"), which exists only in sub/. glibc searches the
/// calling object's DT_RUNPATH ($ORIGIN = sub/) and finds it (checked with
/// a glibc-linked equivalent: found=1); sub_value() = 55. guardld's dlopen
/// takes the caller's return address (like glibc, so opener.c must not
/// tail-call dlopen) to pick the requester.
const CALLER_RUNPATH_WANT: &str = "\
opener_ok=1
sub_found_via_caller_runpath=1
sub_value=55
fails=0
";

#[test]

fn dlopen_uses_the_callers_runpath() {
    expect("caller-runpath", CALLER_RUNPATH_WANT, |s| s.to_string());
}

// --------------------------------------------------------------- guards ----

/// One `guard OBJ mode=M pages=P confirmed=C pagemap=Q aligned=A` line.
#[derive(Debug)]
struct Guard {
    object: String,
    mode: i64,
    pages: i64,
    confirmed: i64,
    pagemap: i64,
    aligned: i64,
}

fn guard_lines(out: &str) -> Vec<Guard> {
    out.lines()
        .filter_map(|l| l.strip_prefix("guard "))
        .map(|l| {
            // The program's object name is "" under PT_INTERP.
            let (object, rest) = l.split_once(' ').unwrap();
            let f: BTreeMap<&str, i64> = rest
                .split_whitespace()
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    (k, v.parse().unwrap())
                })
                .collect();
            Guard {
                object: object.to_string(),
                mode: f["mode"],
                pages: f["pages"],
                confirmed: f["confirmed"],
                pagemap: f["pagemap"],
                aligned: f["aligned"],
            }
        })
        .collect()
}

/// The padding of an ELF file: for each pair of consecutive PT_LOADs, the
/// whole pages between the end of one and the start of the next, in pages.
fn padding_pages(file: &Path) -> Vec<i64> {
    let data = std::fs::read(file).unwrap();
    let elf = ElfFile64::<Endianness>::parse(&*data).unwrap();
    let e = elf.endian();
    let loads: Vec<(u64, u64)> = elf
        .elf_program_headers()
        .iter()
        .filter(|p| p.p_type(e) == object::elf::PT_LOAD)
        .map(|p| (p.p_vaddr(e), p.p_memsz(e)))
        .collect();
    loads
        .windows(2)
        .filter_map(|w| {
            let end = (w[0].0 + w[0].1).div_ceil(4096) * 4096;
            let next = w[1].0 / 4096 * 4096;
            (next > end).then(|| ((next - end) / 4096) as i64)
        })
        .collect()
}

/// api guards (api.c t_guards): guardld_guards after dlopen of libapitls.so
/// lists the padding of every object; for each range the program also reads
/// /proc/self/pagemap bit 58 (PM_GUARD_REGION) of every page itself. The
/// ranges, per object, are the gaps between its PT_LOADs (computed here from
/// the files); the return value is the number of callbacks, and a callback
/// returning 42 stops the walk after one call with 42.
fn check_guards(o: &Outcome, want_mode: i64, program_ranges: bool) {
    let b = bins();
    let out = o.stdout_str();
    let gs = guard_lines(&out);
    let m = kv(&out);
    assert_eq!(m["dlopen_ok"], "1", "{}", o.describe());
    assert_eq!(m["ret_is_count"], "1", "{}", o.describe());
    assert_eq!(m["stop_ret"], "42", "{}", o.describe());
    assert_eq!(m["stop_calls"], "1", "{}", o.describe());
    assert_eq!(m["fails"], "0", "{}", o.describe());
    let mut objects = vec!["libapinext.so", "libapitls.so", "libapidep.so"];
    if program_ranges {
        objects.push("api");
    }
    for obj in objects {
        let file = b.dir.join(obj);
        let mut want = padding_pages(&file);
        want.sort();
        // The program is "" under PT_INTERP (guardld has no path for it).
        let mut got: Vec<i64> = gs.iter().filter(|g| g.object == obj || (obj == "api" && g.object.is_empty())).map(|g| g.pages).collect();
        got.sort();
        assert!(!want.is_empty(), "{obj} has no padding: the layout is not 64 KiB");
        assert_eq!(got, want, "{obj}: padding ranges (pages)\n{}", o.describe());
    }
    for g in &gs {
        assert_eq!(g.aligned, 1, "{g:?}");
        assert_eq!(g.mode, want_mode, "{g:?}\n{}", o.describe());
        if want_mode == 0 {
            // Guard mode: the kernel confirms every page, and so does the
            // program's own pagemap read.
            assert_eq!(g.confirmed, g.pages, "{g:?}\n{}", o.describe());
            assert_eq!(g.pagemap, g.pages, "{g:?}\n{}", o.describe());
        } else {
            // PROT_NONE mappings are not guard regions.
            assert_eq!(g.confirmed, 0, "{g:?}\n{}", o.describe());
            assert_eq!(g.pagemap, 0, "{g:?}\n{}", o.describe());
        }
    }
}

#[test]
fn guards_agree_with_pagemap() {
    let o = api(Via::Interp, &[], "guards", &[]);
    o.assert_code(0);
    check_guards(&o, 0, true);
    let o = api(Via::Explicit, &[], "guards", &[]);
    o.assert_code(0);
    check_guards(&o, 0, true);
}

#[test]
fn guards_prot_none_mode() {
    // Explicitly: every object, the program included, in glibc's layout.
    let o = api(Via::Explicit, &["--padding", "prot-none"], "guards", &[]);
    o.assert_code(0);
    check_guards(&o, 1, true);
    // As PT_INTERP: the kernel mapped the program (its gaps stay the
    // kernel's holes, not reported); the libraries are PROT_NONE-padded.
    let o = api(Via::Interp, &[], "guards", &[("GUARDLD_PADDING", "prot-none")]);
    o.assert_code(0);
    check_guards(&o, 1, false);
}

// ------------------------------------------------------------------- gdb ----

/// `gdb -nx -batch` with `cmds` as `-ex` commands (after `pre`), on `args`
/// (the program, or `--args guardld PROG`); stdout and stderr together.
fn gdb(pre: &[&str], cmds: &[&str], args: &[&Path]) -> (Outcome, String) {
    let mut c = Command::new("gdb");
    for v in ["GUARDLD_PADDING", "GUARDLD_DEBUG", "LD_LIBRARY_PATH", "LD_PRELOAD"] {
        c.env_remove(v);
    }
    c.args(["-nx", "-batch", "-iex", "set debuginfod enabled off"]);
    c.args(["-ex", "set startup-with-shell off"]);
    for p in pre {
        c.args(["-ex", p]);
    }
    for x in cmds {
        c.args(["-ex", x]);
    }
    c.args(args).current_dir("/");
    let o = run_with_timeout(&mut c, Duration::from_secs(120));
    let all = format!("{}{}", o.stdout_str(), o.stderr_str());
    (o, all)
}

/// Assert every needle occurs in gdb's output.
#[track_caller]
fn assert_gdb(o: &Outcome, all: &str, needles: &[&str]) {
    assert!(!o.timed_out, "gdb timed out\n{}", o.describe());
    for n in needles {
        assert!(all.contains(n), "gdb output lacks {n:?}\n{}", o.describe());
    }
}

/// gdb stopped at a breakpoint: a line starting with `head` (e.g.
/// "Breakpoint 1, gdb_libfunc (") showing the argument value `arg` (gdb
/// prints `x=20` or, with entry values, `x=x@entry=20`).
#[track_caller]
fn assert_stop(all: &str, head: &str, arg: &str) {
    let line = all.lines().find(|l| l.starts_with(head)).unwrap_or_else(|| panic!("gdb never printed {head:?}\n{all}"));
    assert!(line.contains(arg) && line.contains(") at "), "{line}\n{all}");
}

/// The `info sharedlibrary` row of `lib` (a path): it must say its symbols
/// were read.
#[track_caller]
fn assert_solib(all: &str, lib: &Path) {
    let l = lib.to_str().unwrap();
    let row = all
        .lines()
        .find(|r| r.ends_with(&format!(" {l}")) && r.starts_with("0x"))
        .unwrap_or_else(|| panic!("info sharedlibrary lacks {l}\n{all}"));
    assert!(row.contains("Yes"), "{row}");
}

/// `gdb -batch -ex 'break gdb_libfunc' -ex run -ex 'info sharedlibrary'
/// -ex bt ./gdbprog`: gdb reads PT_INTERP (guardld), finds _r_debug through
/// the program's DT_DEBUG, and learns of libapigdb.so at guardld's
/// _dl_debug_state breakpoint; the breakpoint set on the name before the
/// run (resolved into the library once it is known) is hit with the
/// argument main passes (20), the library is listed by its absolute path
/// with symbols read, as is guardld, and the backtrace reaches main in
/// gdbprog.c.
#[test]
fn gdb_breaks_in_needed_library() {
    let b = bins();
    let (o, all) = gdb(&[], &["break gdb_libfunc", "run", "info sharedlibrary", "bt", "kill"], &[&b.gdbprog]);
    assert_gdb(&o, &all, &["testbins/api/gdblib.c:", "#0  gdb_libfunc", " in main ("]);
    assert_stop(&all, "Breakpoint 1, gdb_libfunc (", "=20)");
    assert_solib(&all, &b.dir.join("libapigdb.so"));
    assert_solib(&all, guardld());
}

/// A pending breakpoint on gdb_dlfunc, which only the dlopened
/// libapigdbdl.so defines: gdb re-reads the link map at the RT_ADD /
/// RT_CONSISTENT calls of _dl_debug_state during dlopen, resolves the
/// breakpoint and stops there (x = 30); the library is listed; the program
/// then finishes normally (libfunc = (20+1)*2 = 42, dlfunc = (30+2)*3 = 96).
#[test]
fn gdb_breaks_in_dlopened_library() {
    let b = bins();
    let (o, all) = gdb(
        &["set breakpoint pending on"],
        &["break gdb_dlfunc", "run", "info sharedlibrary", "bt", "continue"],
        &[&b.gdbprog],
    );
    assert_gdb(
        &o,
        &all,
        &["Breakpoint 1 (gdb_dlfunc) pending.", " in main (", "libfunc=42", "dlfunc=96", "exited normally"],
    );
    assert_stop(&all, "Breakpoint 1, gdb_dlfunc (", "=30)");
    assert_solib(&all, &b.dir.join("libapigdb.so"));
    assert_solib(&all, &b.dir.join("libapigdbdl.so"));
}

/// After a dlopen, `_r_debug.r_ldbase` still holds guardld's load address
/// (an earlier version reset it to 0 on every dlopen/dlclose). The
/// expectation comes from the kernel, not from guardld: the start of the
/// mapping of guardld's file at offset 0 in `info proc mappings`. r_ldbase
/// is read as raw memory at its offset in glibc's `struct r_debug`
/// (<link.h>: int r_version, r_map, r_brk, int r_state, r_ldbase at 32),
/// since guardld carries no C type for it.
#[test]
fn gdb_r_ldbase_after_dlopen() {
    let b = bins();
    let (o, all) = gdb(
        &["set breakpoint pending on", "set language c"],
        &["break gdb_dlfunc", "run", "x/gx (char *)&_r_debug + 32", "info proc mappings", "continue"],
        &[&b.gdbprog],
    );
    assert_gdb(&o, &all, &["exited normally"]);
    assert_stop(&all, "Breakpoint 1, gdb_dlfunc (", "=30)");
    let ldbase = all
        .lines()
        .find(|l| l.starts_with("0x") && l.contains("<_r_debug+32>:"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("no r_ldbase in gdb's output\n{all}"));
    let real = std::fs::canonicalize(guardld()).unwrap();
    let base = all
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[3] == "0x0" && Path::new(f[f.len() - 1]) == real)
        .map(|f| f[0].to_string())
        .unwrap_or_else(|| panic!("no mapping of {} at offset 0\n{all}", real.display()));
    let parse = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    assert_eq!(parse(ldbase), parse(&base), "r_ldbase vs guardld's first mapping\n{all}");
}

/// `gdb --args guardld /abs/gdbprog`: gdb takes guardld for the program.
/// Pending breakpoints in both libraries are hit and both libraries are
/// listed (with the paths guardld recorded) next to guardld. What gdb does
/// not show is the program itself: its link-map entry comes first, which
/// gdb always takes for the main executable (here guardld) and skips, so
/// frames in gdbprog print as `?? ()` (the same happens with glibc's
/// `gdb --args ld.so PROG`, where a breakpoint in the program is not even
/// hit). Documented in docs/api.md.
#[test]
fn gdb_explicit_start() {
    let b = bins();
    let (o, all) = gdb(
        &["set breakpoint pending on"],
        &["break gdb_libfunc", "break gdb_dlfunc", "run", "bt", "continue", "info sharedlibrary", "bt", "continue"],
        &[Path::new("--args"), guardld(), &b.gdbprog],
    );
    assert_gdb(
        &o,
        &all,
        &["libfunc=42", "dlfunc=96", "exited normally"],
    );
    assert_stop(&all, "Breakpoint 1, gdb_libfunc (", "=20)");
    assert_stop(&all, "Breakpoint 2, gdb_dlfunc (", "=30)");
    assert_solib(&all, &b.dir.join("libapigdb.so"));
    assert_solib(&all, &b.dir.join("libapigdbdl.so"));
    assert_solib(&all, guardld());
}

// ------------------------------------------------------- Rust binding ----

/// testbins/api/rust-api: a no_std Rust program using the guardld-api
/// crate, linked as docs/api.md says (rust-lld, the guardld binary as an
/// input: NEEDED ld-guardld.so.1; PT_INTERP = guardld). Given libapitls.so
/// it dlopens it (constructors of libapidep then libapitls), calls tls_dep
/// through dlsym (dep_value()*2 = 14), names it with dladdr, gets the
/// dlerror texts of a missing symbol and a missing file, sees 4 objects
/// (program, guardld, libapitls, libapidep; libapitls the one with TLS),
/// collects every guard range (all confirmed; libapitls has 3 gaps between
/// its 4 PT_LOADs), and dlcloses (finalizers; dladdr then finds nothing).
const RUST_API_WANT: &str = "\
apidep: init
apitls: init
dlopen=ok
tls_dep=14
dladdr_sname=tls_dep
dladdr_fname_ends=1
dladdr_saddr_ok=1
dlsym_missing_error=undefined symbol: api_no_such_function
missing_error_names_file=1
objects=4 with_tls=1
guards_all_confirmed=1 libapitls_ranges=3 truncated=0
apitls: fini
apidep: fini
dlclose=ok
unloaded=1
";

#[test]
fn rust_binding_end_to_end() {
    let b = bins();
    let target = itest_dir().join("rust-api");
    let manifest = testbins().join("api/rust-api/Cargo.toml");
    cargo_build_manifest("testbins/api/rust-api", &manifest, &target, &[("GUARDLD", guardld().as_os_str())])
        .unwrap_or_else(|e| panic!("{e}"));
    let exe = target.join("release/rust-api");
    let d = readelf(&["-d"], &exe);
    assert!(d.contains("[ld-guardld.so.1]"), "{d}");
    let mut c = command(&exe, &[]);
    c.arg(b.dir.join("libapitls.so")).current_dir("/");
    let o = run(&mut c);
    o.assert_code(0).assert_stdout(RUST_API_WANT);
}

// ---------------------------------------------------------------- zygote ----

/// zygote/ (zygote-bench and its C zygote), small: N=10 libraries (each
/// four PT_LOADs at 64 KiB: three padding gaps), M=5 children, one round
/// of each mode. Checks, from the `summary` lines:
/// * every child's calls into all 10 libraries were right, and the
///   grandchild each child forked to read a padding page of libzyg0.so
///   died of SIGSEGV, in both modes: the padding stays inaccessible in
///   forked processes;
/// * in guard mode each child's own pagemap shows that whole range
///   guarded (guards inherited over fork), in prot-none mode none of it;
/// * 30 ranges (3 per library), all in the mode asked for;
/// * guard-mode children have fewer VMAs than prot-none ones: exactly one
///   fewer per padding range (a PROT_NONE gap is a VMA of its own, a guard
///   is none): the libraries' 30 plus the zygote program's own 3 (it is
///   linked at 64 KiB too), so 33 fewer per child (34 if an anonymous
///   mapping happens not to merge; seen at N=100), and across the fleet
///   (the parent and its 5 children) the parent's difference plus 5 times
///   that.
/// * the glibc zygote (modes glibc and glibc-audit: glibc's ld.so, without
///   and with guardld's audit module): probes die of SIGSEGV in both, the
///   audit module's guards are inherited, and it has 20+ fewer VMAs.
#[test]
fn zygote_children_inherit_guards() {
    let target = itest_dir();
    cargo_build_manifest("zygote", &workspace().join("zygote/Cargo.toml"), &target, &[]).unwrap_or_else(|e| panic!("{e}"));
    let bench = target.join("release/zygote-bench");
    let work = out_dir("api/zygote");
    let path = std::env::var("PATH").unwrap_or_default();
    let mut c = command(&bench, &[("PATH", &path)]);
    c.arg("--sysroot").arg(rust_sysroot()).arg("--guardld").arg(guardld()).args(["-n", "10", "-m", "5", "--rounds", "1", "--work-dir"]).arg(&work);
    c.arg("--audit").arg(audit_module()).args(["--modes", "guard,prot-none,glibc,glibc-audit"]);
    let o = run_with_timeout(&mut c, Duration::from_secs(300));
    o.assert_code(0);
    let out = o.stdout_str();
    let summary = |mode: &str| -> BTreeMap<String, String> {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("summary mode={mode} ")))
            .unwrap_or_else(|| panic!("no summary for {mode}\n{}", o.describe()));
        line.split_whitespace().skip(1).filter_map(|f| f.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let g = summary("guard");
    let p = summary("prot-none");
    let n = |m: &BTreeMap<String, String>, k: &str| -> i64 { m[k].parse().unwrap_or_else(|_| panic!("{k}={}", m[k])) };
    for (m, mode) in [(&g, "guard"), (&p, "prot-none")] {
        assert_eq!(n(m, "calls_ok"), 5, "{mode}\n{}", o.describe());
        assert_eq!(n(m, "segv"), 5, "{mode}: probes must die of SIGSEGV\n{}", o.describe());
        assert_eq!(n(m, "ranges"), 30, "{mode}\n{}", o.describe());
        assert_eq!(n(m, "ok"), 1, "{mode}\n{}", o.describe());
    }
    assert_eq!(n(&g, "ranges_guard"), 30, "{}", o.describe());
    assert_eq!(n(&p, "ranges_prot_none"), 30, "{}", o.describe());
    assert_eq!(n(&g, "inherited"), 5, "guards in every child's pagemap\n{}", o.describe());
    assert_eq!(n(&p, "inherited"), 0, "{}", o.describe());
    // The zygote program is linked the same way: its gaps count too (it is
    // started explicitly, so --padding applies to it as well).
    let program_gaps = padding_pages(&work.join("zygote")).len() as i64;
    assert_eq!(program_gaps, 3);
    // One more anonymous read-write mapping may appear in one layout and
    // not the other (a neighbour it merges with or not): allow it.
    let per_child = n(&p, "vmas_per_child") - n(&g, "vmas_per_child");
    assert!((30 + program_gaps..=31 + program_gaps).contains(&per_child), "{per_child}\n{}", o.describe());
    // The fleet: the parent and its 5 children.
    let parent = n(&p, "parent_vmas") - n(&g, "parent_vmas");
    assert_eq!(n(&p, "fleet_vmas") - n(&g, "fleet_vmas"), parent + 5 * per_child, "{}", o.describe());
    assert!(n(&g, "vmas_per_child") < n(&p, "vmas_per_child"));
    // The glibc zygote (zygote/c/gzygote.c) under glibc's ld.so: glibc's
    // PROT_NONE gaps, or with the audit module guards inherited like
    // guardld's, and fewer VMAs (3 per library, the module's own 2 more).
    let gl = summary("glibc");
    let ga = summary("glibc-audit");
    for (m, mode) in [(&gl, "glibc"), (&ga, "glibc-audit")] {
        assert_eq!(n(m, "calls_ok"), 5, "{mode}\n{}", o.describe());
        assert_eq!(n(m, "segv"), 5, "{mode}: probes must die of SIGSEGV\n{}", o.describe());
        assert_eq!(n(m, "ranges"), 30, "{mode}\n{}", o.describe());
        assert_eq!(n(m, "ok"), 1, "{mode}\n{}", o.describe());
    }
    assert_eq!((n(&gl, "ranges_prot_none"), n(&gl, "inherited"), n(&gl, "guarded_pages")), (30, 0, 0), "{}", o.describe());
    assert_eq!((n(&ga, "ranges_guard"), n(&ga, "inherited"), n(&ga, "guarded_pages")), (30, 5, 450), "{}", o.describe());
    assert!(n(&ga, "vmas_per_child") + 20 < n(&gl, "vmas_per_child"), "{}", o.describe());

    // --json: the same record as one JSON document, with every child's
    // fork() time (a small run: 3 libraries, 2 children).
    let mut c = command(&bench, &[("PATH", &path)]);
    c.arg("--sysroot").arg(rust_sysroot()).arg("--guardld").arg(guardld()).args(["-n", "3", "-m", "2", "--rounds", "1", "--modes", "guard", "--json", "--work-dir"]).arg(work.join("json"));
    let o = run_with_timeout(&mut c, Duration::from_secs(300));
    o.assert_code(0);
    let j: serde_json::Value = serde_json::from_str(&o.stdout_str()).unwrap_or_else(|e| panic!("{e}\n{}", o.describe()));
    let m = &j["modes"][0];
    assert_eq!((m["mode"].as_str(), m["ok"].as_bool(), m["ranges_guard"].as_u64(), m["segv"].as_u64()), (Some("guard"), Some(true), Some(9), Some(2)), "{j}");
    assert_eq!(m["fork_call_ns_each"].as_array().map(Vec::len), Some(2), "{j}");
}
