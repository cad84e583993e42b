//! The glibc personality (`--glibc native`): a glibc program run by
//! guardld itself must print what it prints under glibc's own ld.so, run
//! the same explicit way (`LOADER PROG`), with the same exit status; and
//! glibc's ld.so must not be in the process.

mod common;

use common::*;
use common::victim::{NOBODY, is_root};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The probe, built once per test process: out_dir clears its directory,
/// and the tests run in parallel (a second build removed the first test's
/// program while it ran).
fn probe() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let out = out_dir("glibc-personality").join("probe");
        let src = testbins().join("glibc-personality/probe.c");
        let st = std::process::Command::new("gcc")
            .args(["-O2", "-fstack-protector-all", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .unwrap();
        assert!(st.success(), "gcc {}", src.display());
        out
    })
    .clone()
}

/// `gcc ARGS`; panics with gcc's output on failure.
fn gcc(args: &[&std::ffi::OsStr]) {
    let o = std::process::Command::new("gcc").args(args).output().unwrap();
    assert!(o.status.success(), "gcc {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// PROG ARGS in `dir` with exactly `vars`, under glibc's ld.so and under
/// guardld --glibc native, run the same explicit way: (glibc's, guardld's).
fn glibc_and_guardld(dir: &std::path::Path, vars: &[(&str, &str)], prog: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> (Outcome, Outcome) {
    let g = guardld().to_str().unwrap().to_string();
    let under = |loader: &[&str]| {
        let mut c = command(loader[0], vars);
        c.current_dir(dir).args(&loader[1..]).arg(prog.as_ref()).args(args);
        run(&mut c)
    };
    (under(&[GLIBC_LD]), under(&[&g, "--glibc", "native"]))
}

fn under(loader: &[&str], prog: &PathBuf, args: &[&str]) -> Outcome {
    let mut cmd = command(loader[0], &[("GUARDLD_PROBE", "set"), ("LC_ALL", "C")]);
    cmd.args(&loader[1..]).arg(prog).args(args);
    run(&mut cmd)
}

#[test]
fn probe_prints_what_it_prints_under_glibc() {
    let p = probe();
    let g = guardld().to_str().unwrap();
    let glibc = under(&[GLIBC_LD], &p, &[]);
    let native = under(&[g, "--glibc", "native"], &p, &[]);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(glibc.code(), Some(3), "glibc's ld.so: {}", text(&glibc.stderr));
    assert_eq!(text(&native.stdout), text(&glibc.stdout), "stdout differs; guardld's stderr: {}", text(&native.stderr));
    assert_eq!(native.code(), glibc.code(), "exit status; stderr: {}", text(&native.stderr));
}

#[test]
fn native_process_has_no_glibc_loader() {
    let p = probe();
    let g = guardld().to_str().unwrap();
    // The check can see glibc's ld.so where it is mapped.
    let text = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        s.lines().find_map(|l| l.strip_prefix("glibc ld.so mappings: ")).unwrap_or("(no count)").to_string()
    };
    let glibc = under(&[GLIBC_LD], &p, &["maps"]);
    assert_ne!(text(&glibc.stdout), "0");
    let native = under(&[g, "--glibc", "native"], &p, &["maps"]);
    assert_eq!(text(&native.stdout), "0", "glibc's ld.so mapped under the personality; stderr: {}", String::from_utf8_lossy(&native.stderr));
}

#[test]
fn unknown_glibc_mode_is_refused() {
    let g = guardld().to_str().unwrap();
    let o = run(command(g, &[]).args(["--glibc", "both", "/bin/true"]));
    assert_eq!(o.code(), Some(127));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown glibc mode 'both'"), "{err}");
}

/// glibc's capability subdirectories (loader/src/glibc/hwcaps.rs): a
/// library in `DIR/glibc-hwcaps/x86-64-v2/`, `DIR/tls/` or `DIR/x86_64/`
/// is taken before `DIR/` itself, in glibc's order, for directories from
/// LD_LIBRARY_PATH and DT_RUNPATH. Each case is a directory holding a
/// different set of copies, each copy naming its place; the program
/// prints the one it got. glibc's ld.so is the oracle, and must itself
/// pick at least three different copies across the cases (else the test
/// shows nothing).
#[test]
fn capability_subdirectories_are_searched_as_glibc_does() {
    let root = out_dir("glibc-hwcaps");
    let src = root.join("cap.c");
    std::fs::write(&src, "const char *which(void) { return WHICH; }\n").unwrap();
    let main_src = root.join("capmain.c");
    std::fs::write(&main_src, "#include <stdio.h>\nconst char *which(void);\nint main(void) { puts(which()); return 0; }\n").unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("plain", &[""]),
        ("legacy", &["", "x86_64"]),
        ("tls", &["", "x86_64", "tls"]),
        ("all", &["", "x86_64", "tls", "tls/x86_64", "glibc-hwcaps/x86-64-v2"]),
    ];
    let g = guardld().to_str().unwrap().to_string();
    let mut picked = std::collections::BTreeSet::new();
    for (case, subs) in cases {
        let dir = root.join(case);
        for sub in *subs {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).unwrap();
            let def = format!("-DWHICH=\"{}\"", if sub.is_empty() { "plain" } else { sub });
            gcc(&["-shared".as_ref(), "-fPIC".as_ref(), def.as_ref(), "-o".as_ref(), d.join("libcap.so").as_os_str(), src.as_os_str()]);
        }
        // One program found through LD_LIBRARY_PATH, one through its RUNPATH.
        let prog = dir.join("capmain");
        let runpath = dir.join("capmain-runpath");
        let l = format!("-L{}", dir.display());
        let rp = format!("-Wl,--enable-new-dtags,-rpath,{}", dir.display());
        gcc(&["-o".as_ref(), prog.as_os_str(), main_src.as_os_str(), l.as_ref(), "-lcap".as_ref()]);
        gcc(&["-o".as_ref(), runpath.as_os_str(), main_src.as_os_str(), l.as_ref(), "-lcap".as_ref(), rp.as_ref()]);
        let lp = dir.to_str().unwrap();
        for (p, vars) in [(&prog, vec![("LD_LIBRARY_PATH", lp)]), (&runpath, vec![])] {
            let under = |loader: &[&str]| {
                let mut c = command(loader[0], &vars);
                c.args(&loader[1..]).arg(p);
                run(&mut c)
            };
            let want = under(&[GLIBC_LD]);
            let got = under(&[&g, "--glibc", "native"]);
            assert_eq!(want.code(), Some(0), "{case}: glibc's ld.so\n{}", want.describe());
            got.assert_same_as(&want, &format!("{case} {}", p.display()));
            println!("{case} {}: {}", p.file_name().unwrap().to_string_lossy(), want.stdout_str().trim());
            picked.insert(want.stdout_str());
        }
    }
    assert!(picked.len() >= 3, "glibc picked only {picked:?}");
}

/// Preloads as glibc's ld.so takes them: LD_PRELOAD's objects, then
/// --preload's (both lists, in that order, their constructors in glibc's
/// order), and one that cannot be loaded (missing, an ET_EXEC program, a
/// PIE, a directory) is skipped with glibc's "ERROR: ld.so: object ...
/// cannot be preloaded (...): ignored." line while the program runs. Same
/// stdout, stderr and exit status as glibc's ld.so, run the same explicit
/// way. (The previous build stopped with exit 127 at the first bad
/// preload, and took only --preload when both were given.)
#[test]
fn preloads_are_taken_and_skipped_as_glibc_does() {
    let dir = out_dir("glibc-preload");
    let src = dir.join("pre.c");
    std::fs::write(&src, "#include <stdio.h>\n__attribute__((constructor)) static void hi(void) { printf(\"preloaded %s\\n\", WHO); }\n").unwrap();
    for who in ["a", "b"] {
        let def = format!("-DWHO=\"{who}\"");
        gcc(&["-shared".as_ref(), "-fPIC".as_ref(), def.as_ref(), "-o".as_ref(), dir.join(format!("libpre{who}.so")).as_os_str(), src.as_os_str()]);
    }
    let exe = dir.join("main.c");
    std::fs::write(&exe, "#include <stdio.h>\nint main(int argc, char **argv) { printf(\"main %d\\n\", argc); return 3; }\n").unwrap();
    gcc(&["-no-pie".as_ref(), "-o".as_ref(), dir.join("exec").as_os_str(), exe.as_os_str()]);
    gcc(&["-pie".as_ref(), "-fPIE".as_ref(), "-o".as_ref(), dir.join("pie").as_os_str(), exe.as_os_str()]);
    // Another PIE to preload (not the program itself).
    std::fs::copy(dir.join("pie"), dir.join("otherpie")).unwrap();
    std::fs::create_dir_all(dir.join("adir")).unwrap();
    let prog = dir.join("pie");
    let g = guardld().to_str().unwrap().to_string();
    let cases: &[(&str, &[&str])] = &[
        ("./missing.so ./exec:./libprea.so ./adir ./otherpie", &[]),
        ("./libprea.so", &["--preload", "./libpreb.so"]),
        ("", &["--preload", "./libpreb.so:./no-such.so"]),
    ];
    for (env, opts) in cases {
        let under = |loader: &[&str]| {
            let vars: Vec<(&str, &str)> = if env.is_empty() { vec![("LC_ALL", "C")] } else { vec![("LC_ALL", "C"), ("LD_PRELOAD", env)] };
            let mut c = command(loader[0], &vars);
            c.current_dir(&dir).args(&loader[1..]).args(*opts).arg(&prog).arg("x");
            run(&mut c)
        };
        let want = under(&[GLIBC_LD]);
        let got = under(&[&g, "--glibc", "native"]);
        assert_eq!(want.code(), Some(3), "glibc's ld.so, LD_PRELOAD={env:?} {opts:?}\n{}", want.describe());
        assert_eq!(
            (got.stdout_str(), got.stderr_str(), got.code()),
            (want.stdout_str(), want.stderr_str(), want.code()),
            "LD_PRELOAD={env:?} {opts:?}\n{}",
            got.describe()
        );
        println!("LD_PRELOAD={env:?} {opts:?}: {} | {}", want.stdout_str().trim().replace('\n', " / "), want.stderr_str().trim().replace('\n', " / "));
    }
}

/// An empty LD_LIBRARY_PATH adds no directory, while an empty element of
/// a list is the current directory (glibc's rules): a program needing a
/// library that only the current directory has fails with the first and
/// runs with the second, under both loaders alike. (The previous build
/// took "" as the current directory.)
#[test]
fn empty_library_path_is_no_path() {
    let dir = out_dir("glibc-emptylp");
    let lib = dir.join("lv.c");
    std::fs::write(&lib, "int lv(void) { return 4; }\n").unwrap();
    let main = dir.join("m.c");
    std::fs::write(&main, "#include <stdio.h>\nint lv(void);\nint main(void) { printf(\"lv %d\\n\", lv()); return 0; }\n").unwrap();
    gcc(&["-shared".as_ref(), "-fPIC".as_ref(), "-o".as_ref(), dir.join("liblv.so").as_os_str(), lib.as_os_str()]);
    let prog = dir.join("m");
    let l = format!("-L{}", dir.display());
    gcc(&["-o".as_ref(), prog.as_os_str(), main.as_os_str(), l.as_ref(), "-llv".as_ref()]);
    for (path, code) in [("", 127), ("/nonexistent::", 0), (":", 0)] {
        let (want, got) = glibc_and_guardld(&dir, &[("LC_ALL", "C"), ("LD_LIBRARY_PATH", path)], &prog, &[]);
        assert_eq!(want.code(), Some(code), "glibc's ld.so, LD_LIBRARY_PATH={path:?}\n{}", want.describe());
        got.assert_same_as(&want, &format!("LD_LIBRARY_PATH={path:?}"));
    }
}

/// A search passes over a library built for another ELF class or machine,
/// and over one this user may not open, and goes on to the next directory,
/// as glibc's `open_path` does (a 32-bit directory on LD_LIBRARY_PATH is
/// common on multilib systems); when only another class was found the
/// error is glibc's "wrong ELF class: ELFCLASS32". At start-up (DT_NEEDED)
/// and through libc's dlopen, stdout and exit status equal glibc's. The
/// previous build stopped at the first such file ("wrong ELF class: not
/// ELFCLASS64", exit 127) where glibc runs the program.
#[test]
fn search_passes_over_libraries_for_other_machines() {
    let dir = out_dir("glibc-otherclass");
    std::fs::write(dir.join("wc.c"), "int wc(void) { return 42; }\n").unwrap();
    std::fs::write(dir.join("m.c"), "#include <stdio.h>\nint wc(void);\nint main(void) { printf(\"wc %d\\n\", wc()); return 0; }\n").unwrap();
    std::fs::write(
        dir.join("d.c"),
        "#include <dlfcn.h>\n#include <stdio.h>\nint main(void) {\n  void *h = dlopen(\"libwc.so\", RTLD_NOW);\n  if (!h) { printf(\"dlerror: %s\\n\", dlerror()); return 3; }\n  int (*f)(void) = (int (*)(void))dlsym(h, \"wc\");\n  printf(\"dlopen wc %d\\n\", f());\n  return 0;\n}\n",
    )
    .unwrap();
    let good = dir.join("good");
    std::fs::create_dir_all(&good).unwrap();
    let lib = good.join("libwc.so");
    gcc(&["-shared".as_ref(), "-fPIC".as_ref(), "-o".as_ref(), lib.as_os_str(), dir.join("wc.c").as_os_str()]);
    let l = format!("-L{}", good.display());
    let (m, d) = (dir.join("m"), dir.join("d"));
    gcc(&["-o".as_ref(), m.as_os_str(), dir.join("m.c").as_os_str(), l.as_ref(), "-lwc".as_ref()]);
    gcc(&["-o".as_ref(), d.as_os_str(), dir.join("d.c").as_os_str()]);
    // Copies of the good library with one header field rewritten:
    // EI_CLASS (byte 4) to ELFCLASS32, e_machine (bytes 18-19) to EM_386.
    let bytes = std::fs::read(&lib).unwrap();
    for (sub, at, val) in [("class32", 4, &[1u8][..]), ("i386", 18, &[3u8, 0][..])] {
        let mut b = bytes.clone();
        b[at..at + val.len()].copy_from_slice(val);
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        std::fs::write(dir.join(sub).join("libwc.so"), b).unwrap();
    }
    let g = guardld().to_str().unwrap().to_string();
    let cases = [("class32:good", 0), ("i386:good", 0), ("i386:class32:good", 0), ("class32", 127), ("i386", 127)];
    for (prog, failing) in [(&m, 127), (&d, 3)] {
        for (path, code) in cases {
            let code = if code == 0 { 0 } else { failing };
            let (want, got) = glibc_and_guardld(&dir, &[("LC_ALL", "C"), ("LD_LIBRARY_PATH", path)], prog, &[]);
            let what = format!("{} with LD_LIBRARY_PATH={path}", prog.display());
            assert_eq!(want.code(), Some(code), "glibc's ld.so, {what}\n{}", want.describe());
            got.assert_same_as(&want, &what);
            if path == "class32" {
                let stream = |o: &Outcome| if prog == &m { o.stderr_str() } else { o.stdout_str() };
                assert!(stream(&want).contains("libwc.so: wrong ELF class: ELFCLASS32"), "glibc, {what}\n{}", want.describe());
                assert!(stream(&got).contains("libwc.so: wrong ELF class: ELFCLASS32"), "{what}\n{}", got.describe());
            }
        }
    }
    // A library this user may not read is passed over too (open fails
    // with EACCES). Root reads everything: run both loaders as nobody.
    if !is_root("search_passes_over_libraries_for_other_machines (unreadable library)") {
        return;
    }
    let locked = dir.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::copy(&lib, locked.join("libwc.so")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(locked.join("libwc.so"), std::fs::Permissions::from_mode(0o000)).unwrap();
    for prog in [&m, &d] {
        let under = |loader: &[&str]| {
            use std::os::unix::process::CommandExt;
            let mut c = command(loader[0], &[("LC_ALL", "C"), ("LD_LIBRARY_PATH", "locked:good")]);
            c.current_dir(&dir).args(&loader[1..]).arg(prog).uid(NOBODY).gid(NOBODY);
            run(&mut c)
        };
        let want = under(&[GLIBC_LD]);
        let got = under(&[&g, "--glibc", "native"]);
        assert_eq!(want.code(), Some(0), "glibc's ld.so as nobody, {}\n{}", prog.display(), want.describe());
        got.assert_same_as(&want, &format!("as nobody, {}", prog.display()));
    }
}


/// /etc/ld.so.preload is read as glibc's ld.so reads it: its names (with
/// comments, the four separators and a last name without a newline) are
/// preloaded after LD_PRELOAD's, a missing one is skipped with glibc's
/// message naming the file. The file is system-wide, so each run gets its
/// own in a private mount namespace (an overlay on /etc, as root); stdout,
/// stderr and exit status must equal glibc's, and the objects must be in
/// the process. The previous build did not read the file ("who: absent").
#[test]
fn etc_ld_so_preload_is_read_as_glibc_reads_it() {
    if !is_root("etc_ld_so_preload_is_read_as_glibc_reads_it") {
        return;
    }
    let dir = out_dir("glibc-etc-preload");
    let src = testbins().join("glibc-personality");
    let (pa, pb, prog) = (dir.join("libpa.so"), dir.join("libpb.so"), dir.join("preloaded"));
    for (out, c) in [(&pa, "preload_a.c"), (&pb, "preload_b.c")] {
        gcc(&["-shared".as_ref(), "-fPIC".as_ref(), "-o".as_ref(), out.as_os_str(), src.join(c).as_os_str()]);
    }
    gcc(&["-o".as_ref(), prog.as_os_str(), src.join("preloaded.c").as_os_str()]);
    let text = format!("# preloads for this test\n{}:{}/missing.so\t{}", pb.display(), dir.display(), pa.display());
    let g = guardld().to_str().unwrap().to_string();
    // sh's printf is a builtin: nothing is loaded between writing the
    // file and the exec.
    let script = "mount -t overlay overlay -o lowerdir=/etc,upperdir=\"$1/upper\",workdir=\"$1/work\" /etc || exit 99\n\
                  printf '%s' \"$2\" > /etc/ld.so.preload || exit 99\nshift 2\nexec \"$@\"";
    let under = |loader: &[&str], ld_preload: &str| {
        for d in ["upper", "work"] {
            let _ = std::fs::remove_dir_all(dir.join(d));
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let mut c = command("unshare", &[("LC_ALL", "C"), ("LD_PRELOAD", ld_preload), ("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")]);
        c.args(["-m", "sh", "-c", script, "sh"]).arg(&dir).arg(&text).args(loader).arg(&prog);
        run(&mut c)
    };
    let probe = under(&[GLIBC_LD], "");
    if probe.code() == Some(99) || probe.code() == Some(1) && probe.stderr_str().contains("unshare") {
        println!("skipped: no private mount namespace with an overlay on /etc here\n{}", probe.describe());
        return;
    }
    for ld_preload in ["", pa.to_str().unwrap()] {
        let want = under(&[GLIBC_LD], ld_preload);
        let got = under(&[&g, "--glibc", "native"], ld_preload);
        assert_eq!(want.code(), Some(0), "glibc's ld.so, LD_PRELOAD={ld_preload:?}\n{}", want.describe());
        assert!(want.stdout_str().contains("who: p") && want.stderr_str().contains("from /etc/ld.so.preload"), "glibc's ld.so read no preload file\n{}", want.describe());
        assert_eq!((got.stdout_str(), got.stderr_str(), got.code()), (want.stdout_str(), want.stderr_str(), want.code()), "LD_PRELOAD={ld_preload:?}\n{}", got.describe());
    }
}

/// Symbol versions are checked as glibc's ld.so checks them
/// (dl-version.c), with its words: at start-up a missing version stops
/// the program with exit status 1 (not 127), a missing weak version and a
/// provider with no versions at all are warned about and the program
/// runs; a dlopen'd library's missing version is dlerror's text. stdout
/// and exit status must equal glibc's, and stderr's lines too once the
/// prefix (the program's name under glibc, "guardld" here) is cut. The
/// previous build exited 127, named the requiring object instead of the
/// provider and warned about nothing.
#[test]
fn versions_are_checked_as_glibc_checks_them() {
    let dir = out_dir("glibc-versions");
    let src = testbins().join("glibc-versions");
    let s = |f: &str| src.join(f).into_os_string();
    let o = |f: &str| dir.join(f).into_os_string();
    for (sub, map, extra) in [("new", Some("v2.map"), Some("-DWITH_V2")), ("old", Some("v1.map"), None), ("none", None, None)] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        let mut args: Vec<std::ffi::OsString> = ["-shared", "-fPIC", "-Wl,-soname,libvp.so", "-o"].map(Into::into).to_vec();
        args.push(o(&format!("{sub}/libvp.so")));
        args.push(s("provider.c"));
        args.extend(map.map(|m| format!("-Wl,--version-script={}", src.join(m).display()).into()));
        args.extend(extra.map(Into::into));
        gcc(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
    }
    let lnew = format!("-L{}", dir.join("new").display());
    for (out, flags) in [("needs", &[][..]), ("needs-weak", &["-DWEAK_V2"][..])] {
        let mut args: Vec<std::ffi::OsString> = vec!["-Wl,-z,lazy".into(), "-o".into(), o(out), s("needs.c"), lnew.clone().into(), "-lvp".into()];
        args.extend(flags.iter().map(Into::into));
        gcc(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
    }
    // GNU ld does not mark a requirement weak (gold did): set
    // VER_FLG_WEAK on needs-weak's V2 by hand.
    mark_version_weak(&dir.join("needs-weak"), "V2");
    gcc(&["-shared".as_ref(), "-fPIC".as_ref(), "-DLIB".as_ref(), "-o".as_ref(), &o("old/libneeds.so"), &s("needs.c"), lnew.as_ref(), "-lvp".as_ref()]);
    gcc(&["-o".as_ref(), &o("opener"), &s("opener.c")]);
    // (program, argument, provider directory, glibc's exit status).
    let cases = [
        ("needs", None, "new", 0),
        ("needs", Some("call"), "new", 0),
        ("needs", None, "old", 1),
        ("needs-weak", None, "old", 0),
        ("needs-weak", Some("call"), "old", 0),
        ("needs", None, "none", 0),
        ("opener", None, "old", 2),
    ];
    // Each stderr line without its first field (who prints it).
    let lines = |o: &Outcome| o.stderr_str().lines().map(|l| l.split_once(": ").map_or(l, |x| x.1).to_string()).collect::<Vec<_>>();
    for (prog, arg, sub, code) in cases {
        let args: Vec<&str> = arg.into_iter().collect();
        let (want, got) = glibc_and_guardld(&dir, &[("LC_ALL", "C"), ("LD_LIBRARY_PATH", sub)], format!("./{prog}"), &args);
        let what = format!("{prog} {arg:?} with {sub}/libvp.so");
        assert_eq!(want.code(), Some(code), "glibc's ld.so, {what}\n{}", want.describe());
        assert_eq!((got.stdout_str(), got.code(), lines(&got)), (want.stdout_str(), want.code(), lines(&want)), "{what}\n{}", got.describe());
    }
}

/// Set VER_FLG_WEAK on the requirement of version `name` (DT_VERNEED's
/// Vernaux entries: hash u32, flags u16, other u16, name u32, next u32).
fn mark_version_weak(path: &std::path::Path, name: &str) {
    use common::elf::{put_u16, section, u16_at, u32_at};
    let mut b = std::fs::read(path).unwrap();
    let (vr, _) = section(&b, ".gnu.version_r");
    let (strtab, _) = section(&b, ".dynstr");
    let named = |b: &[u8], off: usize| b[strtab + off..].split(|&c| c == 0).next() == Some(name.as_bytes());
    let mut need = vr;
    let mut found = false;
    loop {
        let (cnt, aux, next) = (u16_at(&b, need + 2), u32_at(&b, need + 8), u32_at(&b, need + 12));
        let mut a = need + aux as usize;
        for _ in 0..cnt {
            if named(&b, u32_at(&b, a + 8) as usize) {
                put_u16(&mut b, a + 4, 2);
                found = true;
            }
            a += u32_at(&b, a + 12) as usize;
        }
        if next == 0 {
            break;
        }
        need += next as usize;
    }
    assert!(found, "no requirement of {name} in {}", path.display());
    std::fs::write(path, b).unwrap();
}

/// A set-user-ID run (AT_SECURE): the environment main sees is the one
/// glibc's ld.so leaves, every UNSECURE_ENVVARS entry gone and the rest
/// in order; and LD_DEBUG, LD_SHOW_AUXV, LD_PROFILE, LD_AUDIT and the
/// surplus tunables, which glibc ignores then, run the program natively
/// instead of handing it to glibc's ld.so. Two set-user-ID root copies of
/// one program, run as nobody: the original (glibc's ld.so as PT_INTERP)
/// and one whose PT_INTERP is guardld. (Run explicitly, glibc's ld.so
/// itself fails an assertion once it has unset a variable.) The previous
/// build left all those variables in place, and with LD_DEBUG set handed
/// the program over explicitly, to that assertion (exit 127).
#[test]
fn secure_mode_environment() {
    if !is_root("secure_mode_environment") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // /tmp: the workspace may not be reachable by the other user.
    let dir = PathBuf::from(format!("/tmp/guardld-secure-env-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let glibc_prog = dir.join("environ");
    gcc(&["-o".as_ref(), glibc_prog.as_os_str(), testbins().join("glibc-personality/environ.c").as_os_str()]);
    let ours_prog = dir.join("environ.g");
    common::glibc::copy_with_interp(&glibc_prog, &ours_prog, common::glibc::short_guardld());
    for p in [&glibc_prog, &ours_prog] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o4755)).unwrap();
    }
    let base = [
        ("PATH", "/usr/bin:/bin"),
        ("LD_PRELOAD", "/nonexistent.so"),
        ("KEEP_ME", "1"),
        ("LD_LIBRARY_PATH", "/x"),
        ("GCONV_PATH", "/x"),
        ("TMPDIR", "/x"),
        ("TZDIR", "/x"),
        ("NLSPATH", "/x"),
        ("RES_OPTIONS", "x"),
        ("MALLOC_TRACE", "/x"),
        ("LD_DYNAMIC_WEAK", "1"),
        ("ALSO_KEPT", "2"),
    ];
    let extras: [&[(&str, &str)]; 5] = [
        &[],
        &[("LD_DEBUG", "libs")],
        &[("LD_SHOW_AUXV", "1"), ("LD_PROFILE", "libc.so.6")],
        &[("LD_AUDIT", "/nonexistent-audit.so")],
        &[("GLIBC_TUNABLES", "glibc.rtld.nns=3:glibc.malloc.check=1")],
    ];
    // Asked to trace in an AT_SECURE process, glibc's ld.so exits 5 and
    // runs nothing.
    let traced = |prog: &std::path::Path| {
        let mut c = std::process::Command::new(prog);
        c.env_clear().env("LD_TRACE_LOADED_OBJECTS", "1").uid(NOBODY).gid(NOBODY);
        run(&mut c)
    };
    let (want, got) = (traced(&glibc_prog), traced(&ours_prog));
    assert_eq!((want.stdout_str(), want.code()), (String::new(), Some(5)), "glibc's ld.so, LD_TRACE_LOADED_OBJECTS\n{}", want.describe());
    got.assert_same_as(&want, "LD_TRACE_LOADED_OBJECTS");
    for extra in extras {
        let under = |prog: &std::path::Path| {
            let mut c = std::process::Command::new(prog);
            c.env_clear().envs(base.iter().copied()).envs(extra.iter().copied()).env("LC_ALL", "C");
            c.uid(NOBODY).gid(NOBODY);
            run(&mut c)
        };
        let want = under(&glibc_prog);
        let got = under(&ours_prog);
        assert_eq!(want.code(), Some(0), "glibc's ld.so, {extra:?}\n{}", want.describe());
        assert!(want.stdout_str().contains("secure=1") && want.stdout_str().contains("env KEEP_ME=1"), "{}", want.describe());
        got.assert_same_as(&want, &format!("{extra:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A glibc program's default directories are its ld.so's (`system_dirs`:
/// not /lib64 nor /usr/lib64, which guardld's own programs also search),
/// and DF_1_NODEFLIB (-z nodefaultlib) drops them and the ld.so.cache
/// entries under them, as glibc. stdout and exit status equal glibc's.
/// The /usr/lib64 case runs in a private mount namespace (as root) with a
/// directory bound over /usr/lib64 that holds the library (and the
/// loader's link). The previous build found the library in /usr/lib64
/// and took libc.so.6 from the cache despite DF_1_NODEFLIB.
#[test]
fn default_directories_are_glibcs() {
    let dir = out_dir("glibc-defdirs");
    std::fs::write(dir.join("x.c"), "int which(void) { return WHICH; }\n").unwrap();
    std::fs::write(dir.join("m.c"), "#include <stdio.h>\nint which(void);\nint main(void) { printf(\"which %d\\n\", which()); return 0; }\n").unwrap();
    for (sub, n) in [("d1", "1"), ("d2", "2"), ("fake64", "64")] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        let lib = dir.join(sub).join("libx.so");
        let def = format!("-DWHICH={n}");
        gcc(&["-shared".as_ref(), "-fPIC".as_ref(), def.as_ref(), "-o".as_ref(), lib.as_os_str(), dir.join("x.c").as_os_str()]);
    }
    let l1 = format!("-L{}", dir.join("d1").display());
    let (plain, nodef) = (dir.join("m"), dir.join("m-nodef"));
    gcc(&["-o".as_ref(), plain.as_os_str(), dir.join("m.c").as_os_str(), l1.as_ref(), "-lx".as_ref()]);
    gcc(&["-Wl,-z,nodefaultlib".as_ref(), "-o".as_ref(), nodef.as_os_str(), dir.join("m.c").as_os_str(), l1.as_ref(), "-lx".as_ref()]);
    let g = guardld().to_str().unwrap().to_string();
    let d2 = dir.join("d2").to_str().unwrap().to_string();
    let d2_libc = format!("{d2}:/lib/x86_64-linux-gnu");
    let compare = |prog: &std::path::Path, path: &str, ns: bool| {
        let under = |loader: &[&str]| {
            let mut c = if ns {
                // The fake /usr/lib64 also holds the loader's link.
                let script = "mount --bind \"$1\" /usr/lib64 || exit 99\nshift\nexec \"$@\"";
                let mut c = command("unshare", &[("LC_ALL", "C"), ("LD_LIBRARY_PATH", path), ("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")]);
                c.args(["-m", "sh", "-c", script, "sh"]).arg(dir.join("fake64"));
                c
            } else {
                let mut c = command(loader[0], &[("LC_ALL", "C"), ("LD_LIBRARY_PATH", path)]);
                c.args(&loader[1..]);
                c.arg(prog);
                return run(&mut c);
            };
            c.args(loader).arg(prog);
            run(&mut c)
        };
        let want = under(&[GLIBC_LD]);
        let got = under(&[&g, "--glibc", "native"]);
        (want, got)
    };
    // DF_1_NODEFLIB: libc.so.6 only through LD_LIBRARY_PATH.
    for (path, code) in [(d2.as_str(), 127), (d2_libc.as_str(), 0)] {
        let (want, got) = compare(&nodef, path, false);
        assert_eq!(want.code(), Some(code), "glibc's ld.so, nodefaultlib, LD_LIBRARY_PATH={path}\n{}", want.describe());
        got.assert_same_as(&want, &format!("nodefaultlib, LD_LIBRARY_PATH={path}"));
    }
    if !is_root("default_directories_are_glibcs (/usr/lib64)") {
        return;
    }
    let link = dir.join("fake64/ld-linux-x86-64.so.2");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(std::fs::read_link("/usr/lib64/ld-linux-x86-64.so.2").unwrap_or_else(|_| "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2".into()), &link).unwrap();
    let (want, got) = compare(&plain, "", true);
    if want.code() == Some(99) {
        println!("skipped the /usr/lib64 case: no private mount namespace here\n{}", want.describe());
        return;
    }
    assert_eq!(want.code(), Some(127), "glibc's ld.so found libx.so in /usr/lib64\n{}", want.describe());
    got.assert_same_as(&want, "/usr/lib64");
}

/// LD_TRACE_LOADED_OBJECTS (ldd's way of running a program) is glibc's
/// own listing: present with any value (empty too), a missing library
/// listed "not found" (exit 0), LD_WARN and LD_BIND_NOW reporting
/// undefined symbols, LD_VERBOSE's version information. guardld hands the
/// program to glibc's ld.so with the variable as it is; stdout (load
/// addresses masked), stderr and exit status equal glibc's. The previous
/// build handed it over as `--list`, which exits 127 on a missing
/// library, prints no warnings, and ran the program for an empty value.
#[test]
fn trace_loaded_objects_is_glibcs() {
    let dir = out_dir("glibc-trace");
    std::fs::write(dir.join("g.c"), "int gone_fn(void) { return 1; }\nint gone_var = 3;\n").unwrap();
    std::fs::write(dir.join("g2.c"), "int other(void) { return 2; }\n").unwrap();
    std::fs::write(dir.join("m.c"), "#include <stdio.h>\nint gone_fn(void);\nextern int gone_var;\nint main(void) { printf(\"%d\\n\", gone_fn() + gone_var); return 0; }\n").unwrap();
    for sub in ["full", "empty", "none"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let lib = |sub: &str, src: &str| {
        let out = dir.join(sub).join("libgone.so");
        gcc(&["-shared".as_ref(), "-fPIC".as_ref(), "-o".as_ref(), out.as_os_str(), dir.join(src).as_os_str()]);
    };
    lib("full", "g.c");
    lib("empty", "g2.c");
    let lfull = format!("-L{}", dir.join("full").display());
    let prog = dir.join("m");
    gcc(&["-o".as_ref(), prog.as_os_str(), dir.join("m.c").as_os_str(), lfull.as_ref(), "-lgone".as_ref()]);
    let cases: [&[(&str, &str)]; 6] = [
        &[("LD_TRACE_LOADED_OBJECTS", "1"), ("LD_LIBRARY_PATH", "full")],
        &[("LD_TRACE_LOADED_OBJECTS", ""), ("LD_LIBRARY_PATH", "full")],
        &[("LD_TRACE_LOADED_OBJECTS", "1"), ("LD_LIBRARY_PATH", "none")],
        &[("LD_TRACE_LOADED_OBJECTS", "1"), ("LD_WARN", "yes"), ("LD_LIBRARY_PATH", "empty")],
        &[("LD_TRACE_LOADED_OBJECTS", "1"), ("LD_WARN", "yes"), ("LD_BIND_NOW", "yes"), ("LD_LIBRARY_PATH", "empty")],
        &[("LD_TRACE_LOADED_OBJECTS", "1"), ("LD_VERBOSE", "1"), ("LD_LIBRARY_PATH", "full")],
    ];
    let masked = |s: String| s.split("(0x").enumerate().map(|(k, part)| if k == 0 { part.to_string() } else { part.split_once(')').map_or(part.to_string(), |(_, rest)| format!("(ADDR){rest}")) }).collect::<String>();
    for vars in cases {
        let mut vars = vars.to_vec();
        vars.push(("LC_ALL", "C"));
        let (want, got) = glibc_and_guardld(&dir, &vars, "./m", &[]);
        assert_eq!(want.code(), Some(0), "glibc's ld.so, {vars:?}\n{}", want.describe());
        assert!(want.stdout_str().contains("libgone.so =>"), "{}", want.describe());
        assert_eq!((masked(got.stdout_str()), got.stderr_str(), got.code()), (masked(want.stdout_str()), want.stderr_str(), want.code()), "{vars:?}\n{}", got.describe());
    }
}

/// A loader variable given twice: the last entry counts, as glibc's ld.so
/// reads its environment (LD_LIBRARY_PATH, LD_PRELOAD, LD_BIND_NOW ...);
/// every GLIBC_TUNABLES entry counts. The environment is exec'd exactly
/// (testbins/glibc-personality/dupenv.c). stdout and exit status equal
/// glibc's; the previous build took the first entry.
#[test]
fn duplicate_variables_last_one_wins() {
    let dir = out_dir("glibc-dupenv");
    std::fs::write(dir.join("x.c"), "int which(void) { return WHICH; }\n").unwrap();
    std::fs::write(dir.join("p.c"), "#include <stdio.h>\n__attribute__((constructor)) static void c(void) { printf(\"preloaded %d\\n\", WHICH); }\n").unwrap();
    std::fs::write(dir.join("m.c"), "#include <stdio.h>\nint which(void);\nint main(void) { printf(\"which %d\\n\", which()); return 0; }\n").unwrap();
    for (sub, n) in [("d1", "1"), ("d2", "2")] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        let def = format!("-DWHICH={n}");
        for (src, out) in [("x.c", "libx.so"), ("p.c", "libp.so")] {
            let lib = dir.join(sub).join(out);
            gcc(&["-shared".as_ref(), "-fPIC".as_ref(), def.as_ref(), "-o".as_ref(), lib.as_os_str(), dir.join(src).as_os_str()]);
        }
    }
    let l1 = format!("-L{}", dir.join("d1").display());
    let prog = dir.join("m");
    gcc(&["-o".as_ref(), prog.as_os_str(), dir.join("m.c").as_os_str(), l1.as_ref(), "-lx".as_ref()]);
    let wrapper = dir.join("dupenv");
    gcc(&["-o".as_ref(), wrapper.as_os_str(), testbins().join("glibc-personality/dupenv.c").as_os_str()]);
    let d = |s: &str| dir.join(s).to_str().unwrap().to_string();
    let env = [
        "LC_ALL=C".to_string(),
        format!("LD_LIBRARY_PATH={}", d("d1")),
        format!("LD_PRELOAD={}", d("d1/libp.so")),
        format!("LD_LIBRARY_PATH={}", d("d2")),
        format!("LD_PRELOAD={}", d("d2/libp.so")),
    ];
    let g = guardld().to_str().unwrap().to_string();
    let under = |loader: &[&str]| {
        let mut c = command(&wrapper, &[]);
        c.args(&env).arg("--").args(loader).arg(&prog);
        run(&mut c)
    };
    let want = under(&[GLIBC_LD]);
    let got = under(&[&g, "--glibc", "native"]);
    assert_eq!((want.stdout_str(), want.code()), ("preloaded 2\nwhich 2\n".to_string(), Some(0)), "glibc's ld.so\n{}", want.describe());
    got.assert_same_as(&want, "");
    // LD_DEBUG's entries add up (glibc ORs the masks): a later empty one
    // does not cancel "libs", and the program goes to glibc's ld.so,
    // which prints its search.
    let debug = |loader: &[&str]| {
        let mut c = command(&wrapper, &[]);
        c.args(["LC_ALL=C", "LD_DEBUG=libs", "LD_DEBUG="]).arg(format!("LD_LIBRARY_PATH={}", d("d1"))).arg("--").args(loader).arg(&prog);
        run(&mut c)
    };
    let (want, got) = (debug(&[GLIBC_LD]), debug(&[&g, "--glibc", "native"]));
    assert!(want.stderr_str().contains("find library=libx.so"), "glibc's ld.so\n{}", want.describe());
    assert!(got.stderr_str().contains("find library=libx.so"), "{}", got.describe());
    got.assert_same_as(&want, "");
}

/// A program linked with -z execstack, given explicitly: the kernel made
/// the stack for guardld's PT_GNU_STACK, so guardld makes it executable
/// as glibc's ld.so does (`_dl_make_stack_executable`); the program then
/// runs code from its stack. Same stdout and status as glibc's ld.so; the
/// previous build left the stack rw-p and the program died of SIGSEGV.
#[test]
fn executable_stack_program() {
    let dir = out_dir("glibc-execstack");
    let prog = dir.join("execstack_prog");
    gcc(&["-Wl,-z,execstack".as_ref(), "-o".as_ref(), prog.as_os_str(), testbins().join("glibc-personality/execstack_prog.c").as_os_str()]);
    let g = guardld().to_str().unwrap().to_string();
    let want = under(&[GLIBC_LD], &prog, &[]);
    let got = under(&[&g, "--glibc", "native"], &prog, &[]);
    assert_eq!(want.code(), Some(0), "{}", want.describe());
    assert!(want.stdout_str().contains("stack rwxp"), "{}", want.describe());
    got.assert_same_as(&want, "");
}

/// glibc.cpu.hwcaps masks CPU features before the glibc-hwcaps/ level is
/// chosen (glibc's `_dl_hwcaps_subdirs_active` asks get_isa_level when it
/// searches): with every level's directory present, each mask must pick
/// glibc's copy. At least two different copies must be picked among the
/// masks (on a CPU below x86-64-v2 every mask picks the same: the test
/// says so and checks the agreement only). The previous build always took
/// the unmasked level.
#[test]
fn hwcaps_tunable_masks_the_isa_level() {
    let dir = out_dir("glibc-hwcaps-tunable");
    std::fs::write(dir.join("cap.c"), "const char *which(void) { return WHICH; }\n").unwrap();
    std::fs::write(dir.join("m.c"), "#include <stdio.h>\nconst char *which(void);\nint main(void) { puts(which()); return 0; }\n").unwrap();
    for sub in ["", "glibc-hwcaps/x86-64-v2", "glibc-hwcaps/x86-64-v3", "glibc-hwcaps/x86-64-v4", "x86_64", "tls/x86_64"] {
        let d = dir.join("lib").join(sub);
        std::fs::create_dir_all(&d).unwrap();
        let def = format!("-DWHICH=\"{}\"", if sub.is_empty() { "plain" } else { sub });
        gcc(&["-shared".as_ref(), "-fPIC".as_ref(), def.as_ref(), "-o".as_ref(), d.join("libcap.so").as_os_str(), dir.join("cap.c").as_os_str()]);
    }
    let prog = dir.join("m");
    let l = format!("-L{}", dir.join("lib").display());
    gcc(&["-o".as_ref(), prog.as_os_str(), dir.join("m.c").as_os_str(), l.as_ref(), "-lcap".as_ref()]);
    let lp = dir.join("lib").to_str().unwrap().to_string();
    let mut picked = std::collections::BTreeSet::new();
    for mask in ["", "glibc.cpu.hwcaps=-AVX512F", "glibc.cpu.hwcaps=-AVX2", "glibc.cpu.hwcaps=-SSE4_2", "glibc.cpu.hwcaps=-AVX512F,-MOVBE"] {
        let (want, got) = glibc_and_guardld(&dir, &[("LD_LIBRARY_PATH", &lp), ("GLIBC_TUNABLES", mask)], &prog, &[]);
        assert_eq!(want.code(), Some(0), "{mask}: glibc's ld.so\n{}", want.describe());
        got.assert_same_as(&want, mask);
        println!("{mask:?}: {}", want.stdout_str().trim());
        picked.insert(want.stdout_str());
    }
    if picked.len() < 2 {
        println!("every mask picked {picked:?}: this CPU shows no difference");
    }
}

/// Static TLS offsets are glibc's (`_dl_determine_tlsoffset`): a
/// page-aligned library block leaves a gap below the program's block,
/// which takes libc's block (errno) as glibc's does. The previous build put
/// libc's block below the library's (errno at -4224 instead of -136).
#[test]
fn static_tls_offsets_are_glibcs() {
    let dir = out_dir("glibc-tlsgap");
    let src = testbins().join("glibc-personality");
    let lib = dir.join("libtlsgap.so");
    gcc(&["-shared".as_ref(), "-fPIC".as_ref(), "-o".as_ref(), lib.as_os_str(), src.join("tls_gap_lib.c").as_os_str()]);
    let prog = dir.join("tls_gap_main");
    let l = format!("-L{}", dir.display());
    let rpath = format!("-Wl,-rpath,{}", dir.display());
    gcc(&["-o".as_ref(), prog.as_os_str(), src.join("tls_gap_main.c").as_os_str(), l.as_ref(), rpath.as_ref(), "-ltlsgap".as_ref()]);
    let g = guardld().to_str().unwrap().to_string();
    let want = under(&[GLIBC_LD], &prog, &[]);
    let got = under(&[&g, "--glibc", "native"], &prog, &[]);
    assert_eq!(want.code(), Some(0), "{}", want.describe());
    got.assert_same_as(&want, "");
}

/// TLS blocks aligned past a page (64 KiB in the program, 8 KiB in a
/// dlopen'd library) are placed on their boundary in the main thread and
/// in new threads, as glibc places them: the thread area is aligned to the
/// largest module's alignment. The previous build refused any PT_TLS
/// aligned past 4 KiB (exit 127 for the program).
#[test]
fn tls_aligned_past_a_page() {
    let dir = out_dir("glibc-tlsalign");
    let src = testbins().join("glibc-personality");
    let lib = dir.join("libx.so");
    gcc(&["-shared".as_ref(), "-fPIC".as_ref(), "-o".as_ref(), lib.as_os_str(), src.join("tls_align_lib.c").as_os_str()]);
    let prog = dir.join("tls_align_main");
    gcc(&["-O1".as_ref(), "-pthread".as_ref(), "-o".as_ref(), prog.as_os_str(), src.join("tls_align_main.c").as_os_str()]);
    let (want, got) = glibc_and_guardld(&dir, &[("LC_ALL", "C")], &prog, &[]);
    assert_eq!((want.stdout_str(), want.code()), ("threads 1 main 1 lib 1\n".to_string(), Some(0)), "glibc's ld.so\n{}", want.describe());
    got.assert_same_as(&want, "");
}
