//! Threads of glibc programs under guardld's glibc personality (issue 16,
//! item 1): pthread_create, thread exit and the stack cache reach guardld's
//! `_dl_allocate_tls`, `_dl_allocate_tls_init`, `_dl_deallocate_tls` and
//! `__nptl_change_stack_perm` (loader/src/glibc/threads.rs). Each program
//! from testbins/glibc-threads/ runs under glibc's ld.so and under guardld
//! --glibc native, both explicitly (`LOADER PROG ARGS`) and as PT_INTERP
//! (the program itself against a copy whose PT_INTERP is guardld, with
//! GUARDLD_GLIBC=native); stdout and exit status must be identical, and
//! glibc's run must exit as the program says it does (a broken case would
//! otherwise compare two failures). glibc's ld.so is the oracle: nothing
//! expected is computed here. The programs print nothing that depends on
//! addresses or scheduling.
//!
//! Run: `cargo test --release --test glibc_threads` (`-- --nocapture`
//! shows one line per comparison).

mod common;

use common::glibc::*;
use common::*;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(20);
const SHOW: usize = 3000;
const DIR: &str = "glibc_threads";

/// The test programs, built once per test process into
/// target/itest/testbins/glibc_threads/ (lld, 64 KiB max-page-size).
struct Progs {
    /// threads_main.c with libglibcthr.so (C TLS in a library).
    c: PathBuf,
    /// cxx_threads.cc with libcxxthr.so, None without g++.
    cxx: Option<PathBuf>,
    /// execstack.c linked with -z execstack.
    execstack: PathBuf,
    /// dl_tls.c: TLS libraries threads_main dlopens (small: in the static
    /// surplus; big: dynamic TLS).
    dl_small: PathBuf,
    dl_big: PathBuf,
    /// The big one compiled for TLS descriptors (-mtls-dialect=gnu2): its
    /// accesses are R_X86_64_TLSDESC calls into dynamic TLS.
    dl_big_desc: PathBuf,
    /// mymalloc.c: a malloc replacement for LD_PRELOAD.
    mymalloc: PathBuf,
}

fn progs() -> &'static Progs {
    static P: OnceLock<Progs> = OnceLock::new();
    P.get_or_init(|| {
        let d = out_dir(DIR);
        let rpath = format!("-Wl,-rpath,{}", d.display());
        let lib = common::audit::glibc_lld64(DIR, "libglibcthr.so").source("glibc-threads/tls_lib.c").shared().build();
        // Linked against ld.so too: the `private` part calls its
        // GLIBC_PRIVATE thread functions directly.
        let c = common::audit::glibc_lld64(DIR, "threads_main")
            .source("glibc-threads/threads_main.c")
            .arg(&lib)
            .arg(GLIBC_LD)
            .arg("-pthread")
            .arg(&rpath)
            .build();
        let dl_small = common::audit::glibc_lld64(DIR, "libdltls_small.so").source("glibc-threads/dl_tls.c").shared().build();
        let dl_big = common::audit::glibc_lld64(DIR, "libdltls_big.so").source("glibc-threads/dl_tls.c").shared().arg("-DBIG").build();
        let dl_big_desc = common::audit::glibc_lld64(DIR, "libdltls_big_desc.so").source("glibc-threads/dl_tls.c").shared().arg("-DBIG").arg("-mtls-dialect=gnu2").build();
        let execstack = common::audit::glibc_lld64(DIR, "execstack").source("glibc-threads/execstack.c").arg("-Wl,-z,execstack").build();
        let cxx = have_gxx().then(|| {
            let src = |f: &str| testbins().join("glibc-threads").join(f);
            let lib = gxx(&d.join("libcxxthr.so"), &["-fPIC".as_ref(), "-shared".as_ref(), src("cxx_lib.cc").as_os_str()]);
            gxx(&d.join("cxx_threads"), &["-fPIE".as_ref(), "-pie".as_ref(), src("cxx_threads.cc").as_os_str(), lib.as_os_str(), rpath.as_ref()])
        });
        let mymalloc = common::audit::glibc_lld64(DIR, "libmymalloc.so").source("glibc-threads/mymalloc.c").shared().build();
        Progs { c, cxx, execstack, dl_small, dl_big, dl_big_desc, mymalloc }
    })
}

/// The reference and candidate runs of `prog ARGS`, one pair per way of
/// running: ("explicit", glibc, guardld), ("PT_INTERP", glibc, guardld).
fn runs(prog: &Path, args: &[&str], env: &[(&str, &str)]) -> Vec<(&'static str, Outcome, Outcome)> {
    // One copy per case: tests run in parallel, and a file being executed
    // cannot be rewritten.
    let interp = short_guardld();
    // Named after every argument (a path by its file name): two cases
    // differing only in a later argument must not share a copy.
    let tag: Vec<String> = args
        .iter()
        .map(|a| Path::new(a).file_name().map_or_else(|| a.to_string(), |f| f.to_string_lossy().into_owned()))
        .chain(env.iter().map(|(k, _)| k.to_string()))
        .collect();
    let copy = short_dir().join(format!("thr-{}-{}", prog.file_name().unwrap().to_string_lossy(), tag.join("-")));
    copy_with_interp(prog, &copy, interp);
    let go = |program: &Path, pre: &[&str], argv0: Option<&Path>, native: bool| {
        let mut c = Command::new(program);
        c.env_clear().env("LC_ALL", "C").envs(env.iter().copied()).current_dir(prog.parent().unwrap());
        if native {
            c.env("GUARDLD_GLIBC", "native");
        }
        if let Some(a) = argv0 {
            c.arg0(a);
        }
        c.args(pre).args(args);
        run_input(&mut c, None, TIMEOUT)
    };
    let p = prog.to_str().unwrap();
    vec![
        ("explicit", go(Path::new(GLIBC_LD), &[p], None, false), go(guardld(), &["--glibc", "native", p], None, false)),
        ("PT_INTERP", go(prog, &[], Some(prog), true), go(&copy, &[], Some(prog), true)),
    ]
}

/// Both ways: glibc's run exits `code`, guardld's prints the same and
/// exits the same.
#[track_caller]
fn same(prog: &Path, args: &[&str], code: i32) {
    same_with(prog, args, &[], code);
}

/// `same` with more environment variables (both loaders, both ways).
#[track_caller]
fn same_with(prog: &Path, args: &[&str], env: &[(&str, &str)], code: i32) {
    let name = format!("{} {}", prog.file_name().unwrap().to_string_lossy(), args.join(" "));
    let mut failures = String::new();
    for (way, r, c) in runs(prog, args, env) {
        if r.timed_out || r.code() != Some(code) {
            failures += &format!("\n=== {name}, {way}: under glibc's ld.so {}, expected exit {code} (a broken case)\n{}", how(&r), r.describe());
        }
        let ok = !c.timed_out && r.status == c.status && r.stdout == c.stdout;
        println!("glibc_threads {name:<24} {way:<9}: {} (glibc {}, guardld {}, {} B)", if ok { "same" } else { "DIFFERS" }, how(&r), how(&c), c.stdout.len());
        if !ok {
            failures += &format!(
                "\n=== {name}, {way}: guardld --glibc native differs from glibc's ld.so\nstatus: glibc {} | guardld {}\n--- differing lines (- glibc, + guardld) ---\n{}\n--- glibc stdout ---\n{}\n--- guardld stdout ---\n{}\n--- glibc stderr ---\n{}\n--- guardld stderr ---\n{}\nglibc: {}\nguardld: {}\n",
                how(&r),
                how(&c),
                line_diff(&r.stdout_str(), &c.stdout_str()),
                show_bytes(&r.stdout, SHOW),
                show_bytes(&c.stdout, SHOW),
                show_bytes(&r.stderr, SHOW),
                show_bytes(&c.stderr, SHOW),
                r.command,
                c.command
            );
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// 8 threads on the program's and libglibcthr.so's TLS (initialised,
/// zero, 64-byte aligned), each with blocks of its own.
#[test]
fn c_threads_with_tls() {
    same(&progs().c, &["basic"], 0);
}

/// 24 rounds of 12 threads (more 8 MiB stacks than glibc's 40 MiB stack
/// cache keeps; four stack sizes): stacks freed, reused from the cache
/// with their TLS initialised again (each thread checks it starts fresh).
#[test]
fn c_create_join_rounds_reuse_cached_stacks() {
    same(&progs().c, &["rounds"], 0);
}

/// Detached threads, then joined ones on the stacks they leave.
#[test]
fn c_detached_threads() {
    same(&progs().c, &["detached"], 0);
}

/// pthread_key_create destructors (called again while they set the key),
/// reading TLS while they run.
#[test]
fn c_thread_specific_data_destructors() {
    same(&progs().c, &["keys"], 0);
}

/// pthread_exit from nested calls, with key destructors. glibc's
/// pthread_exit unwinds with libgcc_s, which libc dlopens.
#[test]
fn c_pthread_exit() {
    same(&progs().c, &["exit"], 0);
}

/// pthread_cancel of threads blocked in sleep: cleanup handlers and key
/// destructors run while libgcc_s unwinds their stacks.
#[test]
fn c_pthread_cancel() {
    same(&progs().c, &["cancel"], 0);
}

/// fork from the main thread and from a thread while four threads run;
/// each child creates threads (on the stacks libc reclaimed) and exits 10.
#[test]
fn c_fork_in_a_threaded_program() {
    same(&progs().c, &["fork"], 0);
}

/// ld.so's thread interface called directly, as libc calls it: a DTV and
/// TLS from `_dl_allocate_tls(NULL)` (every module's entry at the calling
/// thread's offset, to_free NULL, images copied and bss zero), freed with
/// `_dl_deallocate_tls(tcb, true)`; `__nptl_change_stack_perm` on a
/// running thread's stack (rw-p to rwxp).
#[test]
fn c_private_thread_interface() {
    same(&progs().c, &["private"], 0);
}

/// dlopen of TLS libraries while threads run: the threads from before
/// see the images (the small module's block is filled into every thread
/// libc made; the big one, past the static surplus, is dynamic TLS made on
/// first use); 24 later threads, on reused stacks, start fresh too.
#[test]
fn c_dlopen_tls_while_threads_run() {
    let p = progs();
    same(&p.c, &["dlopen", p.dl_small.to_str().unwrap(), p.dl_big.to_str().unwrap()], 0);
}

/// The same with the big library's accesses compiled as TLS descriptors
/// (R_X86_64_TLSDESC into dynamic TLS: guardld's `tlsdesc_dynamic`, glibc's
/// `_dl_tlsdesc_dynamic`). The test checks the relocations are there.
#[test]
fn c_dlopen_tlsdesc_while_threads_run() {
    let p = progs();
    let relocs = Command::new("readelf").args(["-rW"]).arg(&p.dl_big_desc).output().expect("readelf");
    assert!(String::from_utf8_lossy(&relocs.stdout).contains("R_X86_64_TLSDESC"), "{} has no TLSDESC relocation", p.dl_big_desc.display());
    same(&p.c, &["dlopen", p.dl_small.to_str().unwrap(), p.dl_big_desc.to_str().unwrap()], 0);
}

/// `__libc_freeres` after threads ran (valgrind calls it at exit): libc
/// walks the loader's TLS slotinfo list.
#[test]
fn c_libc_freeres() {
    same(&progs().c, &["freeres"], 0);
}

/// gdb (libthread_db) prints a thread's TLS variables of libglibcthr.so,
/// stopped in one thread and then in the main thread: the values must be
/// glibc's, and there must be all four (libthread_db finds the module's
/// link map in `_dl_tls_dtv_slotinfo_list`).
#[test]
fn gdb_prints_thread_local_variables() {
    if Command::new("gdb").arg("--version").output().is_err() {
        println!("skipped: gdb is not installed");
        return;
    }
    let prog = &progs().c;
    let values = |loader: &[&str]| -> (Vec<String>, Outcome) {
        let mut c = command("gdb", &[("LC_ALL", "C"), ("HOME", "/nonexistent")]);
        c.args(["-nx", "-batch", "-ex", "set debuginfod enabled off", "-ex", "set breakpoint pending on", "-ex", "b lib_tls_work if seed == 3", "-ex", "run"]);
        c.args(["-ex", "p lib_counter", "-ex", "p lib_name", "-ex", "p lib_zero[1]", "-ex", "thread 1", "-ex", "p lib_counter", "-ex", "kill", "--args"]);
        c.args(loader).arg(prog).arg("basic");
        let o = run_input(&mut c, None, Duration::from_secs(60));
        (o.stdout_str().lines().filter(|l| l.starts_with('$')).map(String::from).collect(), o)
    };
    let g = guardld().to_str().unwrap();
    let (want, r) = values(&[GLIBC_LD]);
    let (got, c) = values(&[g, "--glibc", "native"]);
    assert_eq!(want.len(), 4, "gdb under glibc's ld.so printed {want:?}
{}", r.describe());
    assert_eq!(got, want, "gdb's view of TLS under guardld
{}", c.describe());
    println!("gdb: {}", got.join(" | "));
}

/// A new thread's first malloc, the process's first: glibc's ld.so callocs
/// the thread's DTV in pthread_create, so malloc is initialised on the
/// creating thread and the new thread gets an arena of its own. (guardld
/// made DTVs with its own allocator until stop 23: the thread initialised
/// malloc and took main_arena, and execstack's threads aborted about once
/// in 4500 runs in `__malloc_arena_thread_freeres`.)
#[test]
fn c_first_malloc_in_a_new_thread() {
    same(&progs().c, &["arena"], 0);
}

/// A malloc replacement preloaded (LD_PRELOAD of a library interposing
/// libc's malloc family): threads with TLS, cached stacks reused, and
/// where a new thread's DTV comes from (glibc's ld.so callocs it from the
/// replacement), dynamic TLS of a library dlopen'd past the static
/// surplus while threads run, and where a thread's block of it comes from
/// (glibc's __tls_get_addr mallocs it: from the replacement). Both runs
/// must say the replacement served the program.
#[test]
fn c_malloc_replacement_preloaded() {
    let p = progs();
    let pre = [("LD_PRELOAD", p.mymalloc.to_str().unwrap())];
    for part in ["basic", "rounds", "dtv"] {
        same_with(&p.c, &[part], &pre, 0);
    }
    let big = p.dl_big.to_str().unwrap();
    same_with(&p.c, &["dlopen", p.dl_small.to_str().unwrap(), big], &pre, 0);
    same_with(&p.c, &["dtls", big], &pre, 0);
    for (way, r, _) in runs(&p.c, &["dtls", big], &pre) {
        assert_eq!(r.stdout_str(), "a thread's dynamic TLS block: from the preloaded malloc\n", "{way}: the case itself, under glibc\n{}", r.describe());
    }
    for (way, r, c) in runs(&p.c, &["dtv"], &pre) {
        assert_eq!(r.stdout_str(), "a new thread's DTV: from the preloaded malloc\n", "{way}: the case itself, under glibc\n{}", r.describe());
        for (who, o) in [("glibc", &r), ("guardld", &c)] {
            assert!(o.stderr_str().contains("[mymalloc served the program]"), "{way}, {who}: the replacement did not serve the program\n{}", o.describe());
        }
    }
}

/// PT_GNU_STACK asks for an executable stack: thread stacks are mapped
/// rwx and GCC's nested-function trampolines run on them.
#[test]
fn c_executable_thread_stacks() {
    same(&progs().execstack, &[], 0);
}

/// std::thread, thread_local objects with constructors and destructors
/// (program and library), exceptions in threads and carried out of them.
#[test]
fn cxx_threads_thread_local_exceptions() {
    let Some(p) = &progs().cxx else {
        println!("skipped: g++ is not installed (Debian: apt-get install g++)");
        return;
    };
    same(p, &[], 7);
}

/// Under guardld, a thread of the process finds no glibc ld.so in
/// /proc/self/maps (the detection sees it under glibc's).
#[test]
fn native_threaded_process_has_no_glibc_loader() {
    let count = |o: &Outcome| -> usize {
        let s = o.stdout_str();
        let n = s.lines().find_map(|l| l.strip_prefix("ld-linux-x86-64.so.2 mappings: "));
        n.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no count in the output\n{}", o.describe()))
    };
    for (way, r, c) in runs(&progs().c, &["maps"], &[]) {
        r.assert_code(0);
        c.assert_code(0);
        assert!(count(&r) > 0, "{way}: glibc's run should map its ld.so\n{}", r.describe());
        assert_eq!(count(&c), 0, "{way}: glibc's ld.so mapped under guardld --glibc native\n{}", c.describe());
        println!("{way}: glibc {} mappings of ld.so, guardld {}", count(&r), count(&c));
    }
}

/// gdb's `info threads` on a threaded program started by guardld as its
/// PT_INTERP (GUARDLD_GLIBC=native): libthread_db finds the threads
/// through `_rtld_global`'s stack lists and names each thread's frame.
/// The program under glibc's ld.so is the oracle: the same four threads,
/// the current one (main) in threads_ready. The others' frames depend on
/// scheduling (still leaving the barrier, or in pause), so only their
/// number is compared; addresses and thread ids are masked.
#[test]
fn gdb_info_threads() {
    if Command::new("gdb").arg("--version").output().is_err() {
        println!("skipped: gdb is not installed");
        return;
    }
    // A directory of its own: out_dir clears it, and the other tests'
    // programs are built into DIR concurrently.
    let dir = "glibc_threads_gdb";
    let d = out_dir(dir);
    let prog = common::audit::glibc_lld64(dir, "gdb_threads").source("glibc-threads/gdb_threads.c").arg("-pthread").arg("-g").build();
    let copy = short_dir().join("thr-gdb_threads");
    copy_with_interp(&prog, &copy, short_guardld());
    let threads = |program: &Path| -> (Vec<String>, Outcome) {
        let mut c = command("gdb", &[("LC_ALL", "C"), ("HOME", "/nonexistent"), ("GUARDLD_GLIBC", "native")]);
        c.current_dir(&d);
        c.args(["-nx", "-batch", "-ex", "set debuginfod enabled off", "-ex", "b threads_ready", "-ex", "run", "-ex", "info threads", "-ex", "kill"]);
        c.arg(program);
        let o = run_input(&mut c, None, Duration::from_secs(60));
        // "* 1    Thread 0x7ffff7c88740 (LWP 804) "gdb_threads" threads_ready () at ..."
        let lines = o
            .stdout_str()
            .lines()
            .filter(|l| {
                let t = l.trim_start().trim_start_matches('*').trim_start();
                t.starts_with(|c: char| c.is_ascii_digit()) && t.contains(" Thread 0x")
            })
            .map(|l| {
                if !l.trim_start().starts_with('*') {
                    return String::from("other thread");
                }
                let frame = l.rsplit_once('"').map_or("", |(_, f)| f);
                let func = frame.split(" in ").last().unwrap_or(frame).split(" (").next().unwrap_or("").trim();
                format!("current thread in {func}")
            })
            .collect();
        (lines, o)
    };
    let (want, r) = threads(&prog);
    let (got, c) = threads(&copy);
    assert_eq!(want.len(), 4, "gdb under glibc's ld.so listed {want:?}\n{}", r.describe());
    assert!(c.stdout_str().contains("libthread_db enabled"), "gdb did not load libthread_db under guardld\n{}", c.describe());
    assert_eq!(got, want, "gdb's info threads under guardld\n{}", c.describe());
    println!("gdb info threads: {}", got.join(" | "));
}

/// Fork while other threads are inside guardld (C++ exceptions reach
/// `_dl_find_object` for every frame, thread creation `_dl_allocate_tls`):
/// a loader lock another thread held at fork must not deadlock the child,
/// which throws and creates a thread itself (300 forks). Before locks
/// carried a fork epoch (sys/lock.rs), about one run in three hung.
#[test]
fn cxx_fork_while_threads_use_the_loader() {
    if !have_gxx() {
        println!("skipped: g++ is not installed");
        return;
    }
    let dir = "glibc_threads_fork";
    let d = out_dir(dir);
    let src = testbins().join("glibc-threads").join("fork_locks.cc");
    let prog = gxx(&d.join("fork_locks"), &["-O1".as_ref(), "-pthread".as_ref(), src.as_os_str()]);
    same(&prog, &[], 0);
}
