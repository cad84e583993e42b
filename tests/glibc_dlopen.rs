//! Run-time loading under guardld's glibc personality, against glibc's own
//! ld.so: libc's dlopen, dlsym, dlvsym, dlclose, dlerror, dladdr(1),
//! dlinfo and dl_iterate_phdr on the test libraries of
//! testbins/glibc-dlopen/ (built here), and a C++ program catching the
//! exceptions of a library it dlopens. Each program runs the same way
//! under both loaders (explicitly, `ld.so PROG` / `guardld --glibc native
//! PROG`, and as PT_INTERP); stdout and exit status must be identical.
//! glibc's ld.so is the oracle: nothing expected is computed here, except
//! in the layout test, which checks what glibc cannot show (no `---p`
//! padding in a dlopen'd 64 KiB-aligned library, its span gone after
//! dlclose) and, as a check of the test itself, that glibc's layout has
//! such padding.
//!
//! Run: `cargo test --release --test glibc_dlopen`.

mod common;

use common::glibc::*;
use common::*;
use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(20);
const SHOW: usize = 3000;

fn src(f: &str) -> PathBuf {
    testbins().join("glibc-dlopen").join(f)
}

/// `gcc -O2 -g ARGS -o OUT`; panics with gcc's output on failure.
fn gcc(out: &Path, args: &[&OsStr]) -> PathBuf {
    let mut c = Command::new("gcc");
    c.args(["-O2", "-g", "-Wall", "-Wextra", "-o"]).arg(out).args(args);
    let o = c.stdin(Stdio::null()).output().expect("run gcc");
    assert!(o.status.success(), "gcc failed ({}):\n{c:?}\n{}{}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    out.to_path_buf()
}

/// The test libraries and dl_main, built into `d`.
fn build_c(d: &Path) -> PathBuf {
    let so = |name: &str, source: &str, extra: &[&str]| {
        let mut a: Vec<&OsStr> = vec!["-fPIC".as_ref(), "-shared".as_ref(), src(source).into_os_string().leak()];
        a.extend(extra.iter().map(|s| OsStr::new(*s)));
        gcc(&d.join(name), &a);
    };
    so("libdl_b.so", "dl_b.c", &[]);
    let map = format!("-Wl,--version-script={}", src("dl_a.map").display());
    let link_b = format!("-L{}", d.display());
    let rpath = format!("-Wl,-rpath,{}", d.display());
    so("libdl_a.so", "dl_a.c", &[&map, &link_b, "-ldl_b", &rpath]);
    so("libdl_g.so", "dl_g.c", &[]);
    so("libdl_deep.so", "dl_deep.c", &[]);
    so("libdl_deep2.so", "dl_deep.c", &[]);
    so("libdl_nd.so", "dl_nd.c", &[]);
    so("libdl_undef.so", "dl_undef.c", &["-Wl,--unresolved-symbols=ignore-all"]);
    so("libdl_tls.so", "dl_tls.c", &[]);
    so("libdl_tlsbig.so", "dl_tlsbig.c", &[]);
    // 64 KiB max-page-size through lld: padding between the segments.
    let gcc_ld = format!("-B{}", rust_sysroot().join("lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld").display());
    so("libdl_64k.so", "dl_64k.c", &[&gcc_ld, "-fuse-ld=lld", "-Wl,-z,max-page-size=65536"]);
    gcc(&d.join("dl_main"), &["-fPIE".as_ref(), "-pie".as_ref(), src("dl_main.c").as_os_str()])
}

/// A run of `prog ARGS` under glibc's ld.so and under guardld, explicit
/// and as PT_INTERP (a copy of `prog` whose PT_INTERP is guardld):
/// (way, glibc's outcome, guardld's outcome).
fn runs(prog: &Path, args: &[&str], tmp: &Path) -> Vec<(&'static str, Outcome, Outcome)> {
    runs_with(prog, args, tmp, &[])
}

/// `runs` with `extra` in the environment of every run.
fn runs_with(prog: &Path, args: &[&str], tmp: &Path, extra: &[(&str, &str)]) -> Vec<(&'static str, Outcome, Outcome)> {
    let go = |program: &Path, pre: &[&str], argv0: Option<&Path>, env: &[(&str, &str)]| {
        let mut c = Command::new(program);
        c.env_clear().env("LC_ALL", "C").env("PATH", "/usr/bin:/bin").envs(extra.iter().copied()).envs(env.iter().copied()).current_dir(tmp);
        if let Some(a) = argv0 {
            c.arg0(a);
        }
        c.args(pre).args(args);
        run_input(&mut c, None, TIMEOUT)
    };
    let p = prog.to_str().unwrap();
    let copy = tmp.join("interp").join(prog.file_name().unwrap());
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    copy_with_interp(prog, &copy, short_guardld());
    let native = [("GUARDLD_GLIBC", "native")];
    vec![
        ("explicit", go(Path::new(GLIBC_LD), &[p], None, &[]), go(guardld(), &["--glibc", "native", p], None, &[])),
        ("PT_INTERP", go(prog, &[], Some(prog), &native), go(&copy, &[], Some(prog), &native)),
    ]
}

/// Compare every run of `prog ARGS`: glibc must exit `code`, guardld the
/// same way with the same stdout.
fn check_same(name: &str, prog: &Path, args: &[&str], tmp: &Path, code: i32) {
    let mut failures = String::new();
    for (way, r, c) in runs(prog, args, tmp) {
        assert!(
            !r.timed_out && r.code() == Some(code),
            "{name}, {way}: glibc's ld.so gave {} (expected exit {code}): a broken case\n{}",
            how(&r),
            r.describe()
        );
        let same = !c.timed_out && r.status == c.status && r.stdout == c.stdout;
        println!("glibc_dlopen {name:<12} {way}: {} ({}, {} B)", if same { "same" } else { "DIFFERS" }, how(&c), c.stdout.len());
        if !same {
            let (a, b) = (r.stdout_str(), c.stdout_str());
            failures.push_str(&format!(
                "\n=== {name}, {way}: guardld differs from glibc's ld.so\nstatus: glibc {} | guardld {}\n--- differing lines (- glibc, + guardld) ---\n{}\n--- guardld stderr ---\n{}\n--- glibc stdout ---\n{}\n",
                how(&r),
                how(&c),
                show_bytes(line_diff(&a, &b).as_bytes(), SHOW),
                show_bytes(&c.stderr, SHOW),
                show_bytes(&r.stdout, SHOW)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// dl_main: every dl* call of the C program (see testbins/glibc-dlopen/
/// dl_main.c): dlopen modes, handles, RTLD_DEFAULT/RTLD_NEXT, versions,
/// dladdr(1), dlinfo, dl_iterate_phdr, reference counts, NODELETE,
/// dynamic TLS (also past the static surplus), dlerror's texts.
#[test]
fn c_dl_functions() {
    let d = out_dir("glibc_dlopen/c");
    let main = build_c(&d);
    check_same("c", &main, &[d.to_str().unwrap()], &d, 3);
}

/// The VMAs of `path` inside its span in one `--- maps ... ---` section of
/// dl_main's maps mode: (all of them, the `---p` ones).
fn span_vmas(section: &str, path: &Path) -> (Vec<Vma>, Vec<Vma>) {
    let maps = parse_maps(section);
    let p = path.to_str().unwrap();
    let Some(start) = maps.iter().filter(|v| v.path == p).map(|v| v.start).min() else { return (Vec::new(), Vec::new()) };
    let end = maps.iter().filter(|v| v.path == p).map(|v| v.end).max().unwrap();
    let inside: Vec<Vma> = maps.into_iter().filter(|v| v.start >= start && v.end <= end).collect();
    let none = inside.iter().filter(|v| v.perms.starts_with("---")).cloned().collect();
    (inside, none)
}

/// A dlopen'd library linked with 64 KiB max-page-size has guard padding,
/// not `---p` VMAs, in its span under guardld (glibc's ld.so maps PROT_NONE
/// gaps: checked too, so the test can tell); after dlclose no VMA of it is
/// left.
#[test]
fn dlopen_64k_library_layout() {
    let d = out_dir("glibc_dlopen/maps");
    let main = build_c(&d);
    let lib = d.join("libdl_64k.so");
    for (way, r, c) in runs(&main, &[d.to_str().unwrap(), "maps"], &d) {
        for (who, o) in [("glibc", &r), ("guardld", &c)] {
            assert_eq!(o.code(), Some(0), "{way}, {who}: {}\n{}", how(o), o.describe());
            let s = o.stdout_str();
            assert!(s.starts_with("k64_text=64k library\n"), "{way}, {who}: {s}");
            let after_open = s.split("--- maps after dlopen ---\n").nth(1).unwrap().split("--- maps after dlclose ---\n").next().unwrap();
            let after_close = s.split("--- maps after dlclose ---\n").nth(1).unwrap();
            let (vmas, none) = span_vmas(after_open, &lib);
            assert!(vmas.len() >= 4, "{way}, {who}: {} has {} VMAs:\n{after_open}", lib.display(), vmas.len());
            if who == "glibc" {
                assert!(!none.is_empty(), "{way}: glibc's ld.so shows no ---p padding: the test cannot tell\n{after_open}");
            } else {
                let lines: Vec<&str> = none.iter().map(|v| v.line.as_str()).collect();
                assert!(none.is_empty(), "{way}: ---p VMAs in {}'s span under guardld:\n{}", lib.display(), lines.join("\n"));
            }
            let left: Vec<&str> = after_close.lines().filter(|l| l.ends_with(lib.to_str().unwrap())).collect();
            assert!(left.is_empty(), "{way}, {who}: {} still mapped after dlclose:\n{}", lib.display(), left.join("\n"));
            println!("glibc_dlopen maps {way} {who}: {} VMAs in the span, {} ---p, gone after dlclose", vmas.len(), none.len());
        }
    }
}

/// A C++ program catches the exceptions of a library it only reaches
/// through dlopen/dlsym (both linked by lld with 64 KiB max-page-size).
#[test]
fn cxx_exceptions_from_a_dlopened_library() {
    if !have_gxx() {
        println!("skipped: g++ is not installed (Debian: apt-get install g++)");
        return;
    }
    let d = out_dir("glibc_dlopen/cxx");
    let lib = gxx(&d.join("libdl_cxxplugin.so"), &["-fPIC".as_ref(), "-shared".as_ref(), src("cxx_plugin.cc").as_os_str()]);
    let main = gxx(&d.join("cxx_dl_main"), &["-fPIE".as_ref(), "-pie".as_ref(), src("cxx_dl_main.cc").as_os_str()]);
    check_same("cxx", &main, &[lib.to_str().unwrap()], &d, 4);
}

/// libc's own loading: pthread_exit in the main thread unwinds through
/// libgcc_s.so.1, which libc dlopens (`__libc_dlopen_mode`) and searches
/// (`__libc_dlsym`) itself; without it libc aborts.
#[test]
fn libc_loads_libgcc_s_for_unwinding() {
    let d = out_dir("glibc_dlopen/unwind");
    let main = gcc(&d.join("unwind_exit"), &["-fPIE".as_ref(), "-pie".as_ref(), src("unwind_exit.c").as_os_str()]);
    check_same("unwind", &main, &[], &d, 0);
}

/// The vDSO's link map: libc's time()/gettimeofday() resolvers find the
/// vDSO's functions through the loader (&time is __vdso_time, dladdr says
/// so), dl_iterate_phdr lists linux-vdso.so.1.
#[test]
fn vdso_link_map() {
    let d = out_dir("glibc_dlopen/vdso");
    let main = gcc(&d.join("vdso"), &["-fPIE".as_ref(), "-pie".as_ref(), src("vdso.c").as_os_str()]);
    check_same("vdso", &main, &[], &d, 5);
}

/// gdb follows dlopen and dlclose: a pending breakpoint in a library the
/// program dlopens (dl_main's maps mode: libdl_64k.so) resolves and is
/// hit (the debugger's list is glibc's link maps, announced through
/// `_dl_debug_state`), `info sharedlibrary` lists the library, and no
/// longer at exit, after its dlclose. Under glibc's ld.so too (a check of
/// the test).
#[test]
fn gdb_follows_dlopen_and_dlclose() {
    if Command::new("gdb").arg("--version").stdout(Stdio::null()).status().is_err() {
        println!("skipped: needs gdb");
        return;
    }
    let d = out_dir("glibc_dlopen/gdb");
    let main = build_c(&d);
    let (m, dir) = (main.to_str().unwrap(), d.to_str().unwrap());
    for (who, pre) in [("glibc", vec![GLIBC_LD, m]), ("guardld", vec![guardld().to_str().unwrap(), "--glibc", "native", m])] {
        let mut c = Command::new("gdb");
        c.args(["-nx", "-batch", "-ex", "set breakpoint pending on", "-ex", "break k64_value", "-ex", "break k64_text", "-ex", "run"])
            .args(["-ex", "info sharedlibrary", "-ex", "delete", "-ex", "break exit", "-ex", "continue", "-ex", "info sharedlibrary", "-ex", "kill"])
            .arg("--args")
            .args(&pre)
            .args([dir, "maps"])
            .current_dir(&d);
        let o = run_input(&mut c, None, Duration::from_secs(60));
        let out = o.stdout_str();
        let hit = out.contains("Breakpoint 2, k64_text");
        let (before, after) = out.split_once("Breakpoint 3, ").unwrap_or((&out, ""));
        let listed = before.lines().any(|x| x.trim_end().ends_with("libdl_64k.so"));
        let gone = !after.is_empty() && !after.lines().any(|x| x.trim_end().ends_with("libdl_64k.so"));
        println!("glibc_dlopen gdb {who}: breakpoint hit={hit} listed={listed} gone after dlclose={gone}");
        assert!(
            hit && listed && gone,
            "{who}: gdb did not follow the dlopen/dlclose (hit {hit}, listed {listed}, gone {gone}):\n{out}\n{}",
            show_bytes(&o.stderr, SHOW)
        );
    }
}

/// Which dlclose unloads an object others bound to (testbins/glibc-dlopen/
/// reldep_main.c): glibc keeps a dlopen'd global library while a library
/// whose relocations bound to it is loaded (`l_reldeps`), for good after
/// dlsym(RTLD_DEFAULT) from the program, until the calling library goes
/// after one from a library, and not at all after dlsym on its handle;
/// two libraries bound to each other (by relocation one way, by lazy
/// binding the other: cycle_main.c) stay while either has a handle and go
/// together with the last. The previous build unmapped the definer at its
/// own dlclose (a call through the binding would then fault), and kept
/// a lazily bound definer for good.
#[test]
fn dlclose_keeps_objects_others_bound_to() {
    let d = out_dir("glibc_dlopen/reldep");
    let so = |name: &str, source: &str| gcc(&d.join(name), &["-fPIC".as_ref(), "-shared".as_ref(), src(source).as_os_str()]);
    so("libreldep_b.so", "reldep_b.c");
    so("libreldep_user.so", "reldep_user.c");
    so("libreldep_c.so", "reldep_c.c");
    let prog = gcc(&d.join("reldep_main"), &["-fPIE".as_ref(), "-pie".as_ref(), src("reldep_main.c").as_os_str()]);
    let dir = d.to_str().unwrap();
    for case in ["reloc", "default", "fromlib", "handle", "twice"] {
        check_same(&format!("reldep {case}"), &prog, &[dir, case], &d, 0);
    }
    // cycle_b.c's call to cyc_c is left to lazy binding (-z lazy, RTLD_LAZY).
    gcc(&d.join("libcycle_b.so"), &["-fPIC".as_ref(), "-shared".as_ref(), "-Wl,-z,lazy".as_ref(), src("cycle_b.c").as_os_str()]);
    so("libcycle_c.so", "cycle_c.c");
    let cycle = gcc(&d.join("cycle_main"), &["-fPIE".as_ref(), "-pie".as_ref(), src("cycle_main.c").as_os_str()]);
    check_same("reldep cycle", &cycle, &[dir], &d, 0);
}

/// dlopen of what glibc refuses as a library (testbins/glibc-dlopen/
/// refused_main.c): a PIE (DF_1_PIE), an ET_EXEC program, a directory, an
/// empty file, a DF_1_NOOPEN library; dlerror's texts must be glibc's. (The previous build loaded
/// the PIE and said "not a regular file" and "not a shared object" where
/// glibc says why in its own words.)
#[test]
fn dlopen_refuses_programs_and_directories() {
    let d = out_dir("glibc_dlopen/refused");
    let exe = src("refused_main.c");
    let pie = gcc(&d.join("pie"), &["-fPIE".as_ref(), "-pie".as_ref(), exe.as_os_str()]);
    let exec = gcc(&d.join("exec"), &["-no-pie".as_ref(), exe.as_os_str()]);
    let dir = d.join("adir");
    std::fs::create_dir_all(&dir).unwrap();
    let empty = d.join("empty.so");
    std::fs::write(&empty, b"").unwrap();
    // A library whose DT_FLAGS_1 says DF_1_NOOPEN (GNU ld does not set it:
    // linked with -z nodelete, the flag word is then rewritten).
    let noopen = gcc(&d.join("libnoopen.so"), &["-fPIC".as_ref(), "-shared".as_ref(), "-Wl,-z,nodelete".as_ref(), src("dl_b.c").as_os_str()]);
    set_flags_1(&noopen, 0x40);
    let prog = gcc(&d.join("refused_main"), &["-fPIE".as_ref(), "-pie".as_ref(), exe.as_os_str()]);
    // Last, the running program's own file (a PIE): refused too.
    let paths: Vec<&str> = [&pie, &exec, &dir, &empty, &noopen, &prog].iter().map(|p| p.to_str().unwrap()).collect();
    check_same("refused", &prog, &paths, &d, 0);
}

/// Rewrite the value of `lib`'s DT_FLAGS_1 entry (which must exist).
fn set_flags_1(lib: &Path, value: u64) {
    use object::read::elf::{ElfFile64, ProgramHeader};
    const DT_FLAGS_1: u64 = 0x6fff_fffb;
    let mut bytes = std::fs::read(lib).unwrap();
    let f = ElfFile64::<object::LittleEndian>::parse(&bytes[..]).unwrap();
    let e = object::LittleEndian;
    let dynamic = f.elf_program_headers().iter().find(|p| p.p_type(e) == object::elf::PT_DYNAMIC).expect("PT_DYNAMIC");
    let (off, size) = (dynamic.p_offset(e) as usize, dynamic.p_filesz(e) as usize);
    let at = (off..off + size).step_by(16).find(|&k| u64::from_le_bytes(bytes[k..k + 8].try_into().unwrap()) == DT_FLAGS_1).expect("DT_FLAGS_1");
    bytes[at + 8..at + 16].copy_from_slice(&value.to_le_bytes());
    std::fs::write(lib, bytes).unwrap();
}

/// dlsym(RTLD_NEXT) from libraries loaded at start-up: a puts interposer
/// the program NEEDs before libc forwards to libc's puts, and another
/// library asks for the next printf. glibc walks each library's `l_loader`
/// up to the program (whose local scope is the global one); guardld's
/// start-up maps had no `l_loader`, so both lookups failed.
#[test]
fn rtld_next_from_startup_libraries() {
    let d = out_dir("glibc_dlopen/next");
    let so = |name: &str, source: &str| gcc(&d.join(name), &["-fPIC".as_ref(), "-shared".as_ref(), src(source).as_os_str()]);
    so("libnext_pre.so", "next_pre.c");
    so("libnext_lib.so", "next_lib.c");
    let libs = [format!("-L{}", d.display()), format!("-Wl,-rpath,{}", d.display())];
    let mut args: Vec<&OsStr> = vec!["-fPIE".as_ref(), "-pie".as_ref(), "-Wl,--no-as-needed".as_ref(), src("next_main.c").into_os_string().leak()];
    args.extend(libs.iter().map(OsStr::new));
    args.extend(["-lnext_pre", "-lnext_lib"].iter().map(OsStr::new));
    let prog = gcc(&d.join("next_main"), &args);
    check_same("rtld_next", &prog, &[], &d, 0);
}

/// Lazy binding of what nothing defines at start-up (testbins/glibc-dlopen/
/// lazy_main.c): a library's missing function never called (exit 0), called
/// (glibc's "symbol lookup error" on stderr, exit 127, after the output
/// before it), defined by a library dlopen'd RTLD_GLOBAL before the call,
/// and dlopen RTLD_LAZY of a library with a missing function. With
/// LD_BIND_NOW set both loaders refuse the program at start-up (no
/// output, exit 127). stdout, exit status and, where glibc exits 127,
/// stderr must be glibc's.
#[test]
fn lazy_binding_of_undefined_functions() {
    let d = out_dir("glibc_dlopen/lazy");
    let so = |name: &str, source: &str, extra: &[&str]| {
        let mut a: Vec<&OsStr> = vec!["-fPIC".as_ref(), "-shared".as_ref(), src(source).into_os_string().leak()];
        a.extend(extra.iter().map(|s| OsStr::new(*s)));
        gcc(&d.join(name), &a);
    };
    so("liblazy.so", "lazy_lib.c", &[]);
    so("libprovider.so", "lazy_provider.c", &[]);
    so("libdl_undef.so", "dl_undef.c", &["-Wl,--unresolved-symbols=ignore-all"]);
    let libs = [format!("-L{}", d.display()), format!("-Wl,-rpath,{}", d.display())];
    let mut args: Vec<&OsStr> = vec!["-fPIE".as_ref(), "-pie".as_ref(), "-Wl,--allow-shlib-undefined".as_ref(), src("lazy_main.c").into_os_string().leak()];
    args.extend(libs.iter().map(OsStr::new));
    args.push("-llazy".as_ref());
    let prog = gcc(&d.join("lazy_main"), &args);
    let dir = d.to_str().unwrap();
    let cases: [(&[&str], &[(&str, &str)], i32); 5] = [
        (&["never"], &[], 0),
        (&["call"], &[], 127),
        (&["later", dir], &[], 0),
        (&["dlopen", dir], &[], 127),
        (&["never"], &[("LD_BIND_NOW", "1")], 127),
    ];
    let mut failures = String::new();
    for (args, env, code) in cases {
        for (way, r, c) in runs_with(&prog, args, &d, env) {
            let name = format!("{} {:?}", args[0], env);
            assert!(!r.timed_out && r.code() == Some(code), "{name}, {way}: glibc's ld.so gave {} (expected exit {code})\n{}", how(&r), r.describe());
            // glibc's own message at the call; at start-up (LD_BIND_NOW)
            // guardld's load error is its own.
            let stderr_same = code != 127 || !env.is_empty() || r.stderr == c.stderr;
            let same = !c.timed_out && r.status == c.status && r.stdout == c.stdout && stderr_same;
            println!("glibc_dlopen lazy {name:<28} {way}: {} ({})", if same { "same" } else { "DIFFERS" }, how(&c));
            if !same {
                failures.push_str(&format!(
                    "\n=== {name}, {way}\nstatus: glibc {} | guardld {}\n--- glibc stdout ---\n{}\n--- guardld stdout ---\n{}\n--- glibc stderr ---\n{}\n--- guardld stderr ---\n{}\n",
                    how(&r), how(&c), show_bytes(&r.stdout, SHOW), show_bytes(&c.stdout, SHOW), show_bytes(&r.stderr, SHOW), show_bytes(&c.stderr, SHOW)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// A library whose PT_GNU_STACK asks for an executable stack
/// (testbins/glibc-dlopen/execstack_main.c): dlopen makes the main stack,
/// a running thread's stack and later threads' stacks executable, as
/// glibc 2.36's ld.so does (`_dl_make_stacks_executable`). The program
/// prints each stack's permissions; stdout and status must be glibc's.
#[test]
fn dlopen_of_an_executable_stack_library() {
    let d = out_dir("glibc_dlopen/execstack");
    gcc(&d.join("libexecstack.so"), &["-fPIC".as_ref(), "-shared".as_ref(), "-Wl,-z,execstack".as_ref(), src("execstack_lib.c").as_os_str()]);
    let prog = gcc(&d.join("execstack_main"), &["-pthread".as_ref(), src("execstack_main.c").as_os_str()]);
    check_same("execstack", &prog, &[d.to_str().unwrap()], &d, 0);
}

/// Memory over dlopen/dlclose cycles (testbins/glibc-dlopen/cycles.c):
/// after a warm-up batch of 2000 cycles of one small library, a second
/// batch grows guardld's process by at most 1 KiB a cycle on average
/// (glibc's ld.so: 0; guardld: 0 now). Before size-class rounding in
/// guardld's arena and the freeing of replaced `_dl_find_object` tables it
/// grew by about 11 then 29 KiB a cycle (22 528 and 58 368 kB over the
/// two batches), more with every batch.
#[test]
fn dlopen_dlclose_cycles_do_not_grow_memory() {
    let d = out_dir("glibc_dlopen/cycles");
    let lib = gcc(&d.join("libcycle.so"), &["-fPIC".as_ref(), "-shared".as_ref(), src("lazy_provider.c").as_os_str()]);
    let prog = gcc(&d.join("cycles"), &[src("cycles.c").as_os_str()]);
    let n = 2000;
    let go = |pre: &[&str], loader: &Path| {
        let mut c = Command::new(loader);
        c.env_clear().env("LC_ALL", "C").current_dir(&d).args(pre).arg(&prog).arg(&lib).arg(n.to_string());
        let o = run_input(&mut c, None, Duration::from_secs(120));
        assert_eq!(o.code(), Some(0), "{}", o.describe());
        let v: Vec<i64> = o.stdout_str().split_whitespace().map(|x| x.parse().unwrap()).collect();
        (v[0], v[1])
    };
    let glibc = go(&[], Path::new(GLIBC_LD));
    let guardld = go(&["--glibc", "native"], guardld());
    println!("VmData growth (kB) over two batches of {n} cycles: glibc {glibc:?}, guardld {guardld:?}");
    assert!(guardld.1 <= n, "guardld grew by {} kB over {n} cycles after warm-up (glibc: {} kB)", guardld.1, glibc.1);
}

/// IFUNC resolvers that call the dl* interface while their library is
/// relocated at start-up (testbins/glibc-dlopen/ifunc_dl_lib.c). dlsym:
/// glibc's output (guardld reads the registry the relocation holds; the
/// build before waited for its own lock until the timeout). dlopen:
/// glibc's loader lock is recursive and the load succeeds; guardld's is
/// not, and it refuses with a dlerror instead of waiting for itself, so
/// glibc cannot be the oracle there and the expected line is written by
/// hand (the point is that the program goes on).
#[test]
fn dl_calls_from_ifunc_resolvers() {
    let d = out_dir("glibc_dlopen/ifunc_dl");
    let lib = gcc(&d.join("libifunc_dl.so"), &["-fPIC".as_ref(), "-shared".as_ref(), src("ifunc_dl_lib.c").as_os_str()]);
    let link = [format!("-L{}", d.display()), format!("-Wl,-rpath,{}", d.display())];
    let prog = gcc(&d.join("ifunc_dl_main"), &[src("ifunc_dl_main.c").as_os_str(), link[0].as_ref(), link[1].as_ref(), "-lifunc_dl".as_ref()]);
    assert!(lib.exists());
    check_same("ifunc-dlsym", &prog, &["dlsym"], &d, 0);
    for (way, r, c) in runs(&prog, &["dlopen"], &d) {
        assert_eq!(r.stdout_str(), "dlopen in a resolver: 1\n", "{way}: glibc\n{}", r.describe());
        assert!(!c.timed_out && c.code() == Some(0), "{way}: guardld gave {}\n{}", how(&c), c.describe());
        assert_eq!(c.stdout_str(), "dlopen in a resolver: 0\n", "{way}\n{}", c.describe());
    }
    // A resolver calling a function nothing defines: lazy binding's
    // "symbol lookup error" and exit 127, glibc's message (the build
    // before waited for its own lock until the timeout).
    let lib = gcc(&d.join("libifunc_lazy.so"), &["-fPIC".as_ref(), "-shared".as_ref(), src("ifunc_lazy_lib.c").as_os_str(), "-Wl,--unresolved-symbols=ignore-all".as_ref()]);
    assert!(lib.exists());
    let prog = gcc(&d.join("ifunc_lazy_main"), &[src("ifunc_lazy_main.c").as_os_str(), link[0].as_ref(), link[1].as_ref(), "-lifunc_lazy".as_ref(), "-Wl,--allow-shlib-undefined".as_ref()]);
    for (way, r, c) in runs(&prog, &[], &d) {
        assert_eq!(r.code(), Some(127), "{way}: glibc\n{}", r.describe());
        assert!(!c.timed_out && c.code() == Some(127), "{way}: guardld gave {}\n{}", how(&c), c.describe());
        assert_eq!(c.stderr, r.stderr, "{way}: stderr\n{}", c.describe());
    }
}

/// A finalizer that calls dlclose, run by dlclose and at exit: on the
/// handle its constructor opened, and on a library it opens itself. As in
/// glibc (`dl_close_state`, `_dl_fini` holding every object), the inner
/// dlclose only drops its reference and the outer one collects what it
/// freed once its finalizers ran; at exit nothing is unloaded. The
/// previous build ran the finalizer again from the inner dlclose, for
/// ever (SIGSEGV on a full stack), and at exit unmapped a running object.
#[test]
fn dlclose_from_a_finalizer() {
    let d = out_dir("glibc_dlopen/nested_close");
    let rpath = format!("-Wl,-rpath,{}", d.display());
    for (out, name) in [("libnested_leaf.so", "-DNAME=\"leaf\""), ("libnested_other.so", "-DNAME=\"other\"")] {
        gcc(&d.join(out), &["-fPIC".as_ref(), "-shared".as_ref(), name.as_ref(), src("nested_close_leaf.c").as_os_str()]);
    }
    gcc(&d.join("libnested_close.so"), &["-fPIC".as_ref(), "-shared".as_ref(), rpath.as_ref(), src("nested_close_lib.c").as_os_str()]);
    let prog = gcc(&d.join("nested_close_main"), &[rpath.as_ref(), src("nested_close_main.c").as_os_str()]);
    check_same("nested close, dlclose", &prog, &["close"], &d, 0);
    check_same("nested close, exit", &prog, &[], &d, 0);
}

/// What a library opened by a relative path keeps after the program
/// changes its current directory: an absolute `l_origin`, so its RUNPATH
/// $ORIGIN still finds its dependency (as glibc's `_dl_new_object`
/// makes it); the program's copy of `_r_debug` (a copy relocation) holds
/// the object list, as glibc fills it before relocation; dladdr and
/// _dl_find_object end where the last segment ends. Explicitly only,
/// RTLD_DI_ORIGIN of the program itself (as PT_INTERP glibc's l_origin is
/// NULL there and dlinfo faults). The previous build could not find the
/// dependency, had an empty `_r_debug` copy, took the last page's tail as
/// the object's, and faulted on the program's origin.
#[test]
fn origin_after_chdir() {
    let d = out_dir("glibc_dlopen/origin");
    std::fs::create_dir_all(d.join("deps")).unwrap();
    gcc(&d.join("deps/libdl_origin_leaf.so"), &["-fPIC".as_ref(), "-shared".as_ref(), src("origin_leaf.c").as_os_str()]);
    gcc(&d.join("libdl_origin_plug.so"), &["-fPIC".as_ref(), "-shared".as_ref(), "-Wl,--enable-new-dtags,-rpath,$ORIGIN/deps".as_ref(), src("origin_plug.c").as_os_str()]);
    let prog = gcc(&d.join("origin_main"), &[src("origin_main.c").as_os_str()]);
    check_same("origin", &prog, &[], &d, 0);
    let g = guardld().to_str().unwrap().to_string();
    let under = |loader: &[&str]| {
        let mut c = command(loader[0], &[("LC_ALL", "C")]);
        c.current_dir(&d).args(&loader[1..]).arg("./origin_main").arg("origin");
        run(&mut c)
    };
    let want = under(&[GLIBC_LD]);
    let got = under(&[&g, "--glibc", "native"]);
    assert_eq!(want.code(), Some(0), "{}", want.describe());
    assert!(want.stdout_str().contains("program origin: 0 /.\n"), "{}", want.describe());
    got.assert_same_as(&want, "");
}

/// dlopen of broken or foreign files by path, each dlerror text as
/// glibc's (elf/dl-load.c, open_verify): a library with one header field
/// rewritten (EI_DATA, EI_VERSION, EI_OSABI, EI_ABIVERSION, EI_PAD,
/// e_version, e_machine, e_type, e_phentsize), a text file, a short file,
/// a path through a regular file, a symbolic link loop, a name too long
/// for the kernel (its text longer than any fixed buffer). The previous
/// build loaded the wrong-OS-ABI library and used its own words for the
/// rest ("not an ELF file (bad magic)", "./loop: Too many levels of
/// symbolic links", ...).
#[test]
fn dlopen_of_broken_files_gives_glibcs_texts() {
    let d = out_dir("glibc_dlopen/broken");
    let good = gcc(&d.join("libgood.so"), &["-fPIC".as_ref(), "-shared".as_ref(), src("dl_b.c").as_os_str()]);
    let bytes = std::fs::read(&good).unwrap();
    let mut paths = Vec::new();
    // (name, offset, bytes written there).
    let edits: [(&str, usize, &[u8]); 10] = [
        ("endian", 5, &[2]),
        ("identversion", 6, &[0]),
        ("osabi", 7, &[0x61]),
        ("abiversion", 8, &[1]),
        ("pad", 12, &[1]),
        ("version", 20, &[2]),
        ("machine", 18, &[0xb7, 0]),
        ("rel", 16, &[1, 0]),
        ("core", 16, &[4, 0]),
        ("phentsize", 54, &[32, 0]),
    ];
    for (name, at, val) in edits {
        let mut b = bytes.clone();
        b[at..at + val.len()].copy_from_slice(val);
        let p = d.join(format!("lib{name}.so"));
        std::fs::write(&p, b).unwrap();
        paths.push(p.to_str().unwrap().to_string());
    }
    std::fs::write(d.join("text.so"), b"this is not an ELF file, only some text\n").unwrap();
    std::fs::write(d.join("short.so"), &bytes[..100]).unwrap();
    let _ = std::fs::remove_file(d.join("loop.so"));
    std::os::unix::fs::symlink("loop.so", d.join("loop.so")).unwrap();
    for p in ["text.so", "short.so", "loop.so", "libgood.so/x.so"] {
        paths.push(d.join(p).to_str().unwrap().to_string());
    }
    // A name too long for the kernel: dlerror's text (over 5000 bytes)
    // whole, as glibc's (the previous build cut it at 1535 bytes).
    paths.push(d.join(format!("{}.so", "n".repeat(5000))).to_str().unwrap().to_string());
    let prog = gcc(&d.join("refused_main"), &[src("refused_main.c").as_os_str()]);
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    check_same("broken", &prog, &args, &d, 0);
}

/// RTLD_NOLOAD as glibc's `_dl_map_object` does it: a name no object
/// answers to is still searched and opened, an object already loaded
/// from that file (same device and inode) is returned, a file that is
/// not loaded gives NULL without an error, and a broken or missing one
/// gives its dlerror; the program's PT_INTERP path names the loader
/// itself (when the file exists). A search passes over a copy for another
/// ELF class. The previous build matched names only (NULL for all four
/// aliases), set no dlerror, and would map a second glibc ld.so for its
/// path without RTLD_NOLOAD.
#[test]
fn noload_finds_files_by_identity() {
    let d = out_dir("glibc_dlopen/noload");
    for lib in ["libnl.so", "libnl2.so"] {
        gcc(&d.join(lib), &["-fPIC".as_ref(), "-shared".as_ref(), src("dl_b.c").as_os_str()]);
    }
    std::os::unix::fs::symlink("libnl.so", d.join("libnl-link.so")).unwrap();
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::write(d.join("text.so"), b"not an ELF file at all, only some text\n").unwrap();
    // other/libnl.so: libnl.so with EI_CLASS rewritten to ELFCLASS32.
    std::fs::create_dir_all(d.join("other")).unwrap();
    let mut b = std::fs::read(d.join("libnl.so")).unwrap();
    b[4] = 1;
    std::fs::write(d.join("other/libnl.so"), b).unwrap();
    let runpath = format!("-Wl,--enable-new-dtags,-rpath,{}:{}", d.join("other").display(), d.display());
    let prog = gcc(&d.join("noload_main"), &[runpath.as_ref(), src("noload_main.c").as_os_str()]);
    let interp = interp_of(&prog).expect("PT_INTERP");
    check_same("noload", &prog, &[d.to_str().unwrap(), &interp], &d, 0);
}

/// dlopen'd TLS modules take static TLS as glibc gives it: only those
/// whose initial-exec references need it (DF_STATIC_TLS, TPOFF
/// relocations); the others get dynamic TLS, allocated at first use
/// (RTLD_DI_TLS_DATA NULL before). So four general-dynamic modules of 600
/// bytes leave glibc 2.36's 1664-byte surplus to an initial-exec module
/// dlopen'd after them. The previous build put the general-dynamic ones
/// in the surplus and then refused the initial-exec one ("cannot
/// allocate memory in static TLS block").
#[test]
fn static_tls_is_kept_for_initial_exec() {
    let d = out_dir("glibc_dlopen/tls_surplus");
    for i in 1..=4 {
        gcc(&d.join(format!("libtls_gd{i}.so")), &["-fPIC".as_ref(), "-shared".as_ref(), src("tls_gd.c").as_os_str()]);
    }
    let ie = gcc(&d.join("libtls_ie.so"), &["-fPIC".as_ref(), "-shared".as_ref(), src("tls_ie.c").as_os_str()]);
    let dynamic = readelf(&["-d"], &ie);
    assert!(dynamic.contains("STATIC_TLS"), "libtls_ie.so has no DF_STATIC_TLS:\n{dynamic}");
    let rpath = format!("-Wl,-rpath,{}", d.display());
    let prog = gcc(&d.join("tls_surplus_main"), &[rpath.as_ref(), src("tls_surplus_main.c").as_os_str()]);
    check_same("tls surplus", &prog, &[], &d, 0);
}

/// STB_GNU_UNIQUE definitions (a C++ inline function's static, a
/// template's static member) are one object per process, as glibc's
/// `_ns_unique_sym_table` makes them: two RTLD_LOCAL copies of a library
/// count on one counter. dlvsym asks for that version only (glibc's
/// `hidden` request): an unversioned definition does not answer it. The
/// previous build gave each copy its own counter ("1 1 2"), and dlvsym
/// returned the unversioned `bump` for any version.
#[test]
fn unique_symbols_are_shared_across_local_scopes() {
    if !have_gxx() {
        println!("skipped: no g++");
        return;
    }
    let d = out_dir("glibc_dlopen/unique");
    for lib in ["libuniq_a.so", "libuniq_b.so"] {
        let o = Command::new("g++").args(["-O2", "-fPIC", "-shared", "-o"]).arg(d.join(lib)).arg(src("unique_lib.cc")).output().unwrap();
        assert!(o.status.success(), "g++: {}", String::from_utf8_lossy(&o.stderr));
    }
    let syms = readelf(&["--dyn-syms", "-W"], &d.join("libuniq_a.so"));
    assert!(syms.contains("UNIQUE"), "no STB_GNU_UNIQUE symbol in libuniq_a.so:\n{syms}");
    let rpath = format!("-Wl,-rpath,{}", d.display());
    let prog = gcc(&d.join("unique_main"), &[rpath.as_ref(), src("unique_main.c").as_os_str()]);
    check_same("unique", &prog, &[], &d, 0);
}

/// An object outlives the one whose DT_NEEDED loaded it (libchain_a.so
/// loads libchain_b.so, b is also dlopen'd, a is dlclosed), then dlopens
/// by name: its search no longer starts an RPATH chain at the unloaded a.
/// The previous build walked the chain into a's empty registry slot and
/// panicked (a loader bug: SIGILL/SIGABRT where glibc runs on).
#[test]
fn requester_outlives_the_object_that_loaded_it() {
    let d = out_dir("glibc_dlopen/chain");
    let rpath = format!("-Wl,--disable-new-dtags,-rpath,{}", d.display());
    gcc(&d.join("libchain_leaf.so"), &["-fPIC".as_ref(), "-shared".as_ref(), src("dl_b.c").as_os_str()]);
    gcc(&d.join("libchain_b.so"), &["-fPIC".as_ref(), "-shared".as_ref(), src("chain_b.c").as_os_str()]);
    let l = format!("-L{}", d.display());
    gcc(&d.join("libchain_a.so"), &["-fPIC".as_ref(), "-shared".as_ref(), rpath.as_ref(), src("chain_a.c").as_os_str(), l.as_ref(), "-lchain_b".as_ref()]);
    let prog = gcc(&d.join("chain_main"), &[rpath.as_ref(), src("chain_main.c").as_os_str()]);
    check_same("chain", &prog, &[], &d, 0);
}
