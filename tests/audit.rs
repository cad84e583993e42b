//! The audit module (guardld-audit) under glibc's own ld.so, and guardld
//! handing glibc programs over to it.
//!
//! The oracle is glibc: the same program gives the same stdout and exit
//! status with and without the module. What the module changes is
//! observed, not trusted: the program itself counts the VMAs and `---p`
//! VMAs in each library's span (/proc/self/maps), the padding pages (from
//! its own program headers, page size from sysconf) and those carrying
//! pagemap bit 58, and forks a child and a grandchild that read padding.
//! Programs in testbins/audit/.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const LIBS: usize = 10;

/// The directory of the programs (made empty once per test process).
fn dir_path() -> &'static Path {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| out_dir("audit"))
}

/// libaudit1..10.so (each NEEDs the previous), libauditplugin.so and the
/// program, lld with 64 KiB max-page-size, linked against glibc.
fn prog() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let d = dir_path();
        common::audit::build_libs("audit", LIBS);
        Cc::new("audit", "prog")
            .source("audit/prog.c")
            .libc()
            .linker(Linker::Lld)
            .page_size(65536)
            .arg(d.join(format!("libaudit{LIBS}.so")))
            .arg(format!("-Wl,-rpath,{}", d.display()))
            .build()
    })
}

/// The program again, with guardld as its PT_INTERP.
fn prog_interp() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let d = { prog(); dir_path() };
        Cc::new("audit", "prog_interp")
            .source("audit/prog.c")
            .libc()
            .linker(Linker::Lld)
            .page_size(65536)
            .interp(guardld())
            .arg(d.join(format!("libaudit{LIBS}.so")))
            .arg(format!("-Wl,-rpath,{}", d.display()))
            .build()
    })
}

fn dir() -> String {
    prog();
    dir_path().display().to_string()
}

/// Run `argv` under guardld with `env`: explicitly (`guardld OPTS ARGV`),
/// or, with `interp`, directly (argv[0] has guardld as its PT_INTERP).
fn run_guardld(interp: bool, opts: &[&str], argv: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut c;
    if interp {
        c = Command::new(argv[0]);
        c.args(&argv[1..]);
    } else {
        c = Command::new(guardld());
        c.args(opts).args(argv);
    }
    c.env_remove("LD_AUDIT").env_remove("LD_PRELOAD").env_remove("GUARDLD_DEBUG").env_remove("GUARDLD_PADDING");
    // The hand-over (audit mode; the default is native).
    c.env("GUARDLD_GLIBC", "audit");
    for (k, v) in env {
        c.env(k, v);
    }
    run(&mut c)
}

/// Run `argv` plainly (no module) or with LD_AUDIT set to the module.
fn run_prog(argv: &[&str], audit: bool) -> Outcome {
    let mut c = Command::new(argv[0]);
    c.args(&argv[1..]).env_remove("LD_AUDIT").env_remove("LD_PRELOAD").env_remove("GUARDLD_DEBUG");
    if audit {
        c.env("LD_AUDIT", audit_module());
    }
    run(&mut c)
}

/// The `obj` lines of `prog check` by library name.
fn objects(out: &str) -> Vec<(String, std::collections::HashMap<String, String>)> {
    out.lines()
        .filter_map(|l| l.strip_prefix("obj "))
        .map(|l| {
            let mut it = l.split(' ');
            let name = it.next().unwrap().to_string();
            (name, it.filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect())
        })
        .collect()
}

fn num(m: &std::collections::HashMap<String, String>, k: &str) -> i64 {
    m[k].parse().unwrap_or_else(|_| panic!("{k}={}", m[k]))
}

/// Same stdout and exit status with and without the module.
#[test]
fn same_output_as_glibc() {
    let p = prog().to_str().unwrap();
    for mode in ["run", "check"] {
        let plain = run_prog(&[p, mode, &dir()], false);
        plain.assert_code(0);
        let audited = run_prog(&[p, mode, &dir()], true);
        if mode == "run" {
            assert_same(&plain, &audited, |s| s.to_string());
        } else {
            // The functional lines; the obj lines are compared below.
            assert_same(&plain, &audited, |s| s.lines().filter(|l| !l.starts_with("obj ")).collect::<Vec<_>>().join("\n"));
        }
    }
}

/// Plain glibc: every library has its gaps as `---p` VMAs (the baseline
/// the module removes). With the module: no `---p`, at most #PT_LOAD + 1
/// (bss) VMAs per library, every padding page guarded, a child and a
/// grandchild reading padding die of SIGSEGV, and after dlclose nothing of
/// the plugin is mapped.
#[test]
fn module_guards_padding() {
    let p = prog().to_str().unwrap();
    let plain = run_prog(&[p, "check", &dir()], false);
    plain.assert_code(0);
    let objs = objects(&plain.stdout_str());
    assert_eq!(objs.len(), LIBS + 1, "{}", plain.describe());
    for (name, o) in &objs {
        assert_eq!(num(o, "none"), 3, "glibc leaves 3 gaps as ---p in {name}: {o:?}");
        assert_eq!(num(o, "guarded"), 0, "{name}: {o:?}");
    }
    let audited = run_prog(&[p, "check", &dir()], true);
    audited.assert_code(0);
    let out = audited.stdout_str();
    let objs = objects(&out);
    assert_eq!(objs.len(), LIBS + 1, "{}", audited.describe());
    for (name, o) in &objs {
        assert_eq!(num(o, "none"), 0, "{name}: {o:?}\n{out}");
        assert!(num(o, "vmas") <= num(o, "loads") + 1, "{name}: {o:?}");
        assert!(num(o, "padding") > 0, "{name}: {o:?}");
        assert_eq!(num(o, "guarded"), num(o, "padding"), "{name}: {o:?}");
        assert_eq!(o["child"], "SIGSEGV", "{name}: {o:?}");
        assert_eq!(o["grandchild"], "SIGSEGV", "{name}: {o:?}");
    }
    assert!(out.contains("plugin_vmas_after_dlclose=0\n"), "{out}");
}

/// Reading padding in the process itself kills it with SIGSEGV.
#[test]
fn padding_read_kills() {
    let p = prog().to_str().unwrap();
    let o = run_prog(&[p, "probe", &dir()], true);
    assert_eq!(o.signal(), Some(11), "{}", o.describe());
    assert!(!o.stdout_str().contains("lived"), "{}", o.describe());
}

/// The machine's own glibc programs give the same output with the module:
/// Debian's python3 (ssl, json, sqlite3, ctypes), perl, bash, coreutils.
#[test]
fn debian_programs_unchanged() {
    let cases: &[&[&str]] = &[
        &["/usr/bin/python3", "-c", "import ssl, json, sqlite3, ctypes; print(json.dumps([ssl.OPENSSL_VERSION[:7], sqlite3.sqlite_version_info[0], ctypes.sizeof(ctypes.c_long)]))"],
        &["/usr/bin/perl", "-MPOSIX", "-e", "print join(',', floor(2.5), POSIX::strtol('ff', 16)), qq(\\n)"],
        &["/bin/bash", "-c", "x=$(echo abc | tr a-c x-z); echo $x ${#x}; for i in 1 2 3; do printf '%s-' $i; done; echo"],
        &["/bin/ls", "-la", "/usr/share/common-licenses"],
        &["/usr/bin/sort", "-r", "/etc/shells"],
    ];
    for argv in cases {
        if !Path::new(argv[0]).exists() {
            println!("skipped: {} not installed", argv[0]);
            continue;
        }
        let plain = run_prog(argv, false);
        let audited = run_prog(argv, true);
        assert_same(&plain, &audited, |s| s.to_string());
        assert!(audited.stderr_str().is_empty(), "{}", audited.describe());
    }
}

/// The `obj` lines of a glibc-program run with the module in effect.
#[track_caller]
fn assert_guarded(o: &Outcome) {
    o.assert_code(0);
    let out = o.stdout_str();
    let objs = objects(&out);
    assert_eq!(objs.len(), LIBS + 1, "{}", o.describe());
    for (name, m) in &objs {
        assert_eq!(num(m, "none"), 0, "{name}: {m:?}\n{out}");
        assert!(num(m, "vmas") <= num(m, "loads") + 1, "{name}: {m:?}");
        assert_eq!(num(m, "guarded"), num(m, "padding"), "{name}: {m:?}");
        assert_eq!(m["child"], "SIGSEGV", "{name}: {m:?}");
    }
    assert!(out.contains("plugin_vmas_after_dlclose=0\n"), "{out}");
}

/// `guardld PROG` and PROG with guardld as PT_INTERP, for a glibc program:
/// handed to glibc's ld.so with the module (GUARDLD_DEBUG=libs says so):
/// glibc's output and status, and the module's padding.
#[test]
fn guardld_hands_glibc_programs_over() {
    let p = prog().to_str().unwrap();
    let pi = prog_interp().to_str().unwrap();
    let plain = run_prog(&[p, "run", &dir()], false);
    for (interp, argv) in [(false, [p, "run", &dir()]), (true, [pi, "run", &dir()])] {
        let o = run_guardld(interp, &[], &argv, &[("GUARDLD_DEBUG", "libs")]);
        assert_same(&plain, &o, |s| s.to_string());
        o.assert_stderr_contains("needs glibc's dynamic loader");
        o.assert_stderr_contains("handing over with the audit module");
        let o = run_guardld(interp, &[], &[argv[0], "check", &dir()], &[]);
        assert_guarded(&o);
        assert!(o.stderr_str().is_empty(), "{}", o.describe());
    }
    // --argv0 reaches the program through glibc's --argv0.
    let o = run_guardld(false, &["--argv0", "renamed"], &["/bin/bash", "-c", "echo $0"], &[]);
    o.assert_code(0).assert_stdout("renamed\n");
}

/// `--padding prot-none` (and GUARDLD_PADDING) hands over without the
/// module: glibc's own layout, 3 `---p` gaps per library.
#[test]
fn prot_none_hands_over_without_module() {
    let p = prog().to_str().unwrap();
    for (opts, env) in [(&["--padding", "prot-none"][..], &[][..]), (&[][..], &[("GUARDLD_PADDING", "prot-none")][..])] {
        let o = run_guardld(false, opts, &[p, "check", &dir()], env);
        o.assert_code(0);
        for (name, m) in objects(&o.stdout_str()) {
            assert_eq!(num(&m, "none"), 3, "{name}: {m:?}");
            assert_eq!(num(&m, "guarded"), 0, "{name}: {m:?}");
        }
    }
}

/// A musl program (PT_INTERP musl's loader, or NEEDing musl's libc):
/// a clear message and exit 127, nothing run.
#[test]
fn musl_programs_get_a_message() {
    let d = { prog(); dir_path() };
    // Exits 0 at once if anything ever runs it.
    std::fs::write(d.join("musl_main.c"), "void _start(void) { __asm__ volatile(\"mov $231, %eax; xor %edi, %edi; syscall\"); }\n").unwrap();
    std::fs::write(d.join("musl_libc.c"), "int musl_marker;\n").unwrap();
    let gcc = |args: &[&str]| {
        let o = Command::new("gcc").args(args).current_dir(d).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    gcc(&["-nostdlib", "-shared", "-fPIC", "-Wl,-soname,libc.musl-x86_64.so.1", "-o", "libc.musl-x86_64.so.1", "musl_libc.c"]);
    gcc(&["-nostdlib", "-fPIE", "-pie", "-Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1", "-o", "musl_interp", "musl_main.c"]);
    gcc(&["-nostdlib", "-fPIE", "-pie", "-o", "musl_needed", "musl_main.c", "-Wl,--no-as-needed", "./libc.musl-x86_64.so.1"]);
    for prog in ["musl_interp", "musl_needed"] {
        let path = d.join(prog);
        let o = run_guardld(false, &[], &[path.to_str().unwrap()], &[]);
        o.assert_code(127);
        o.assert_stderr_contains(&format!("guardld: {}: linked against musl", path.display()));
        assert!(o.stdout.is_empty(), "{}", o.describe());
    }
}

/// A libc-less program whose library imports glibc's private loader
/// interface (_dl_argv@GLIBC_PRIVATE): only glibc's ld.so can link it, so
/// guardld hands it over. The oracle is glibc's ld.so run the same way
/// (which, without libc.so.6, stops at its own calloc lookup: guardld's
/// run must end exactly as glibc's does, not with guardld's own errors).
#[test]
fn glibc_private_import_hands_over() {
    let d = { prog(); dir_path() };
    let lib = Cc::new("audit", "libprivate.so").source("audit/private_lib.c").shared().arg("/lib64/ld-linux-x86-64.so.2").build();
    let readelf = readelf(&["-VW"], &lib);
    assert!(readelf.contains("GLIBC_PRIVATE"), "{readelf}");
    let prog = Cc::new("audit", "private_main").source("audit/private_main.c").arg(&lib).arg(format!("-Wl,-rpath,{}", d.display())).build();
    let mut c = Command::new(GLIBC_LD);
    c.arg("--argv0").arg("named").arg(&prog);
    let glibc = run(&mut c);
    let o = run_guardld(false, &["--argv0", "named"], &[prog.to_str().unwrap()], &[("GUARDLD_DEBUG", "libs")]);
    assert_same(&glibc, &o, |s| s.to_string());
    o.assert_stderr_contains("needs glibc's dynamic loader");
    // glibc's own last word, not guardld's list of GLIBC_PRIVATE symbols.
    let tail = |s: &str| s.lines().last().unwrap_or_default().to_string();
    assert_eq!(tail(&glibc.stderr_str()), tail(&o.stderr_str()), "{}\n{}", glibc.describe(), o.describe());
}

/// The stress program (testbins/audit/stress.c).
fn stress() -> PathBuf {
    let d = { prog(); dir_path() };
    Cc::new("audit", "stress").source("audit/stress.c").libc().linker(Linker::Lld).page_size(65536).arg("-pthread").arg(format!("-Wl,-rpath,{}", d.display())).build()
}

/// After start-up the module may only replace memory atomically: with a
/// thread mapping and unmapping in a loop, 200 dlopens of the plugin never
/// show a foreign mapping inside its span or readable padding, and its
/// padding is guarded every time.
#[test]
fn dlopen_races_a_mapping_thread() {
    let s = stress();
    let o = run_prog(&[s.to_str().unwrap(), "race", "200", &dir()], true);
    o.assert_code(0).assert_stdout("race runs=200 foreign=0 readable_padding=0 fully_guarded=200\n");
}

/// Under mlockall(MCL_FUTURE) guards cannot be installed: the padding of a
/// dlopen'd library stays PROT_NONE (never readable, nothing foreign), as
/// under plain glibc.
#[test]
fn mlockall_keeps_prot_none() {
    let s = stress();
    let plain = run_prog(&[s.to_str().unwrap(), "mlock", &dir()], false);
    plain.assert_code(0);
    let o = run_prog(&[s.to_str().unwrap(), "mlock", &dir()], true);
    assert_same(&plain, &o, |s| s.to_string());
    o.assert_stdout("mlock foreign=0 readable_padding=0 guarded=0 padding=45\n");
}

/// `guardld --list PROG` on a glibc program lists what glibc's ld.so
/// --list lists (addresses aside: each run places objects anew).
#[test]
fn list_of_a_glibc_program_is_glibcs() {
    let p = prog().to_str().unwrap();
    let strip = |s: &str| s.lines().map(|l| l.split(" (0x").next().unwrap_or(l).to_string()).collect::<Vec<_>>().join("\n");
    let mut c = Command::new(GLIBC_LD);
    c.arg("--list").arg(p);
    let glibc = run(&mut c);
    glibc.assert_code(0);
    let o = run_guardld(false, &["--list"], &[p], &[]);
    assert_same(&glibc, &o, strip);
    assert!(o.stdout_str().contains("/libaudit10.so (0x"), "{}", o.describe());
}

/// Two libraries linked at the same nonzero base: glibc relocates the
/// second, whose `l_addr` then lies below anything of its own. The module
/// must not read there (it did, and the program died of SIGSEGV): same
/// output as plain glibc.
#[test]
fn libraries_linked_at_a_nonzero_base() {
    let d = { prog(); dir_path() };
    let lib = |out: &str, name: &str| {
        common::audit::glibc_lld64("audit", out).source("audit/based.c").shared().arg(format!("-DNAME={name}")).arg("-Wl,--image-base=0x40000000").build()
    };
    let a = lib("libbasedA.so", "based_a");
    let b = lib("libbasedB.so", "based_b");
    assert!(readelf(&["-lW"], &a).contains("0x0000000040000000"), "not linked at the base");
    let p = common::audit::glibc_lld64("audit", "based_main").source("audit/based_main.c").arg(&a).arg(&b).arg(format!("-Wl,-rpath,{}", d.display())).build();
    let p = p.to_str().unwrap();
    let plain = run_prog(&[p], false);
    plain.assert_code(0).assert_stdout("based_a 1\nbased_b 2\nsum=5\n");
    let audited = run_prog(&[p], true);
    assert_same(&plain, &audited, |s| s.to_string());
}

/// By default (native) a glibc program runs under guardld itself; with
/// LD_AUDIT set it goes to glibc's ld.so, which loads the rtld-audit
/// modules the personality does not have (here guardld's own module,
/// whose work the program observes), and GUARDLD_DEBUG=libs says why.
#[test]
fn ld_audit_sends_a_glibc_program_to_glibcs_loader() {
    let p = prog().to_str().unwrap();
    let m = audit_module();
    let native = run_guardld(false, &[], &[p, "check", &dir()], &[("GUARDLD_GLIBC", "native"), ("GUARDLD_DEBUG", "libs")]);
    assert_guarded(&native);
    native.assert_stderr_contains("running natively");
    let o = run_guardld(false, &[], &[p, "check", &dir()], &[("GUARDLD_GLIBC", "native"), ("GUARDLD_DEBUG", "libs"), ("LD_AUDIT", m.to_str().unwrap())]);
    assert_guarded(&o);
    o.assert_stderr_contains("LD_AUDIT is set: a glibc program goes to glibc's ld.so");
    o.assert_stderr_contains("handing over");
}

/// LD_DEBUG asks for glibc's own debugging output, which the personality
/// does not write: the program goes to glibc's ld.so (with the module, so
/// still guard-padded), and glibc's ld.so prints it.
#[test]
fn ld_debug_sends_a_glibc_program_to_glibcs_loader() {
    let p = prog().to_str().unwrap();
    let o = run_guardld(false, &[], &[p, "check", &dir()], &[("GUARDLD_GLIBC", "native"), ("GUARDLD_DEBUG", "libs"), ("LD_DEBUG", "libs")]);
    assert_guarded(&o);
    o.assert_stderr_contains("LD_DEBUG is set: a glibc program goes to glibc's ld.so");
    // glibc's own line for the search of libc.so.6.
    o.assert_stderr_contains("find library=libc.so.6 [0]; searching");
}

/// LD_SHOW_AUXV, even empty, asks glibc's ld.so to print the auxiliary
/// vector, which the personality does not: the program goes to glibc's
/// ld.so (with the module) and glibc prints it.
#[test]
fn ld_show_auxv_sends_a_glibc_program_to_glibcs_loader() {
    let p = prog().to_str().unwrap();
    let o = run_guardld(false, &[], &[p, "check", &dir()], &[("GUARDLD_GLIBC", "native"), ("GUARDLD_DEBUG", "libs"), ("LD_SHOW_AUXV", "")]);
    assert_guarded(&o);
    o.assert_stderr_contains("LD_SHOW_AUXV is set: a glibc program goes to glibc's ld.so");
    // glibc's own lines (on stdout, as _dl_show_auxv writes them).
    assert!(o.stdout_str().contains("AT_PAGESZ:") && o.stdout_str().contains("AT_ENTRY:"), "no auxiliary vector printed\n{}", o.describe());
}

/// The tunables of the static TLS surplus, which the personality keeps at
/// glibc's default, send a glibc program to glibc's ld.so too; other
/// tunables do not.
#[test]
fn surplus_tunables_send_a_glibc_program_to_glibcs_loader() {
    let p = prog().to_str().unwrap();
    for t in ["glibc.rtld.optional_static_tls=4096", "glibc.malloc.check=0:glibc.rtld.nns=2"] {
        let o = run_guardld(false, &[], &[p, "check", &dir()], &[("GUARDLD_GLIBC", "native"), ("GUARDLD_DEBUG", "libs"), ("GLIBC_TUNABLES", t)]);
        assert_guarded(&o);
        o.assert_stderr_contains("goes to glibc's ld.so");
        o.assert_stderr_contains("handing over");
    }
    let o = run_guardld(false, &[], &[p, "check", &dir()], &[("GUARDLD_GLIBC", "native"), ("GUARDLD_DEBUG", "libs"), ("GLIBC_TUNABLES", "glibc.malloc.check=0")]);
    assert_guarded(&o);
    o.assert_stderr_contains("running natively");
}
