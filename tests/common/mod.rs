//! Shared helpers for guardld's integration tests (`mod common;` in each
//! tests/*.rs file).
//!
//! * Builds: [`guardld`] / [`guardld_debug`] build the loader once per test
//!   process with a nested `cargo build` into `target/itest` (a separate
//!   target dir: the outer `cargo test` holds the lock on `target/`);
//!   [`rust_hello`] builds testbins/rust-hello the same way; [`Cc`] compiles
//!   libc-less C test programs from testbins/ with gcc (bfd or rust-lld).
//! * Runs: [`run`] runs a command with a timeout and returns an [`Outcome`]
//!   whose assertion methods print the command, exit status or signal,
//!   stdout and stderr on failure; [`paused::run_paused`] looks at a
//!   program while it is paused (its maps and pagemap, through guard-abi).
//! * ELF: [`elf`] reads program headers, dynamic entries, sections and
//!   symbols (with the `object` crate) and patches them.
//! * [`victim`]: the hardening suites' libhv victim, its copies and the
//!   refusal checks.
//! * [`audit`]: the glibc-linked 64 KiB lld libraries of the audit module's
//!   tests (testbins/audit/).
//!
//! Not every test file uses every helper.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub mod audit;
pub mod elf;
pub mod glibc;
pub mod paused;
pub mod victim;

/// glibc's dynamic loader, the reference for comparisons.
pub const GLIBC_LD: &str = "/lib64/ld-linux-x86-64.so.2";

/// Programs are killed (with their process group) after this long.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------- paths ----

/// The workspace root (the root package `guardld-suite` lives there).
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `<workspace>/target/itest`: the nested builds' target dir and the home of
/// built test programs.
pub fn itest_dir() -> PathBuf {
    workspace().join("target/itest")
}

/// `<workspace>/testbins`: sources of the test programs.
pub fn testbins() -> PathBuf {
    workspace().join("testbins")
}

/// A fresh, empty output directory `target/itest/testbins/<name>` for one
/// test. `name` must be unique across all tests (use the test's own name,
/// prefixed with the test file's, e.g. "start/auxv_pie_bfd_4k").
pub fn out_dir(name: &str) -> PathBuf {
    let d = itest_dir().join("testbins").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
    d
}

// ---------------------------------------------------------- nested cargo ----

/// Environment variables the outer `cargo test` sets that must not leak into
/// a nested cargo build (jobserver, target dir, per-crate metadata).
const CARGO_ENV_TO_DROP: &[&str] = &[
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PKG_NAME",
    "CARGO_TARGET_TMPDIR",
    "RUSTC_WORKSPACE_WRAPPER",
];

fn cargo() -> Command {
    let exe = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut c = Command::new(exe);
    for v in CARGO_ENV_TO_DROP {
        c.env_remove(v);
    }
    c.current_dir(workspace());
    c
}

/// Run a nested cargo command to completion (no timeout: first builds are
/// slow); the error carries its output.
fn cargo_build(what: &str, args: &[&str], target_dir: &Path) -> Result<(), String> {
    let mut c = cargo();
    c.args(args).env("CARGO_TARGET_DIR", target_dir);
    let out = c
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo for {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building {what} failed ({:?}, {})\n--- stderr ---\n{}\n--- stdout ---\n{}",
            c,
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(())
}

/// Build once per test process; a failure is remembered too (every test
/// that needs the build fails with the same message, without rebuilding).
fn build_once(
    cell: &'static OnceLock<Result<PathBuf, String>>,
    f: impl FnOnce() -> Result<PathBuf, String>,
) -> &'static Path {
    match cell.get_or_init(f) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// An override for a build helper: env var `var` naming an existing file.
fn overridden(var: &str) -> Option<Result<PathBuf, String>> {
    let p = PathBuf::from(std::env::var_os(var)?);
    Some(checked_exe(std::path::absolute(&p).unwrap()).map_err(|e| format!("{var}: {e}")))
}

/// The release build of guardld and, beside it, its audit module
/// (`cargo build --release -p guardld -p guardld-audit` into target/itest),
/// built once per test process. `GUARDLD_ITEST_GUARDLD=PATH` uses PATH
/// instead of building (the module is then looked for beside it).
pub fn guardld() -> &'static Path {
    static P: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    build_once(&P, || {
        overridden("GUARDLD_ITEST_GUARDLD").unwrap_or_else(|| {
            cargo_build(
                "guardld and guardld-audit (release)",
                &["build", "--release", "-p", "guardld", "-p", "guardld-audit"],
                &itest_dir(),
            )?;
            checked_exe(itest_dir().join("release/guardld"))
        })
    })
}

/// The audit module built beside [`guardld`] (libguardld_audit.so).
pub fn audit_module() -> PathBuf {
    let m = guardld().with_file_name("libguardld_audit.so");
    assert!(m.is_file(), "no audit module beside {}", guardld().display());
    m
}

/// The debug build of guardld (`cargo build -p guardld` into target/itest),
/// built once per test process. `GUARDLD_ITEST_GUARDLD_DEBUG=PATH` uses
/// PATH instead of building.
pub fn guardld_debug() -> &'static Path {
    static P: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    build_once(&P, || {
        overridden("GUARDLD_ITEST_GUARDLD_DEBUG").unwrap_or_else(|| {
            cargo_build("guardld (debug)", &["build", "-p", "guardld"], &itest_dir())?;
            checked_exe(itest_dir().join("debug/guardld"))
        })
    })
}

/// testbins/rust-hello (a standalone no_std package, PIE without
/// PT_INTERP: run it explicitly), release build, once per test process.
pub fn rust_hello() -> &'static Path {
    static P: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    build_once(&P, || {
        let manifest = testbins().join("rust-hello/Cargo.toml");
        let target = itest_dir().join("rust-hello");
        cargo_build(
            "testbins/rust-hello",
            &[
                "build",
                "--release",
                "--manifest-path",
                manifest.to_str().unwrap(),
            ],
            &target,
        )?;
        checked_exe(target.join("release/rust-hello"))
    })
}

fn checked_exe(p: PathBuf) -> Result<PathBuf, String> {
    let m = std::fs::metadata(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    if !(m.is_file() && m.permissions().mode() & 0o111 != 0) {
        return Err(format!("{} is not an executable file", p.display()));
    }
    Ok(p)
}

/// `rustc --print sysroot`, once.
pub fn rust_sysroot() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let out = Command::new(rustc)
            .args(["--print", "sysroot"])
            .output()
            .expect("run rustc --print sysroot");
        assert!(
            out.status.success(),
            "rustc --print sysroot: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

// -------------------------------------------------------------- C builds ----

/// Which linker gcc drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linker {
    /// GNU ld (bfd), gcc's default.
    Bfd,
    /// rust-lld from the Rust sysroot (`-B .../gcc-ld -fuse-ld=lld`).
    Lld,
}

/// What to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// ET_DYN executable (`-fPIE -pie`).
    Pie,
    /// ET_EXEC executable (`-fno-pie -no-pie`). Note: with no shared library
    /// among the inputs, bfd makes a static executable (no PT_INTERP, no
    /// PT_DYNAMIC) even when given --dynamic-linker; see [`Cc::force_dynamic`].
    NoPie,
    /// Shared library (`-fPIC -shared`); the runtime is not linked in unless
    /// [`Cc::rt`] asks for it.
    Shared,
}

/// A gcc invocation building one test program or library from testbins/.
///
/// Always: `-nostdlib -ffreestanding -fno-stack-protector -fno-builtin -O2 -g
/// -I testbins`, plus testbins/rt/rt.c for executables.
///
/// ```ignore
/// let exe = Cc::new("start/auxv_pie_lld_64k", "auxv")
///     .source("auxv.c")
///     .linker(Linker::Lld)
///     .page_size(65536)
///     .interp(guardld())
///     .build();
/// ```
#[derive(Clone, Debug)]
pub struct Cc {
    dir: String,
    out: String,
    sources: Vec<PathBuf>,
    linker: Linker,
    kind: Kind,
    page_size: Option<u64>,
    interp: Option<PathBuf>,
    force_dynamic: bool,
    rt: Option<bool>,
    libc: bool,
    args: Vec<OsString>,
}

impl Cc {
    /// Build `out` into `target/itest/testbins/<dir>/` (the directory is not
    /// cleared: several programs of one test can share it; see [`out_dir`]).
    pub fn new(dir: &str, out: &str) -> Cc {
        Cc {
            dir: dir.to_string(),
            out: out.to_string(),
            sources: Vec::new(),
            linker: Linker::Bfd,
            kind: Kind::Pie,
            page_size: None,
            interp: None,
            force_dynamic: false,
            rt: None,
            libc: false,
            args: Vec::new(),
        }
    }

    /// A source file: relative paths are taken from testbins/.
    pub fn source(mut self, s: impl AsRef<Path>) -> Cc {
        self.sources.push(testbins().join(s.as_ref()));
        self
    }

    pub fn linker(mut self, l: Linker) -> Cc {
        self.linker = l;
        self
    }

    pub fn kind(mut self, k: Kind) -> Cc {
        self.kind = k;
        self
    }

    pub fn pie(self) -> Cc {
        self.kind(Kind::Pie)
    }

    pub fn no_pie(self) -> Cc {
        self.kind(Kind::NoPie)
    }

    pub fn shared(self) -> Cc {
        self.kind(Kind::Shared)
    }

    /// `-Wl,-z,max-page-size=N` (and, with bfd, `-Wl,-z,separate-code`).
    pub fn page_size(mut self, n: u64) -> Cc {
        self.page_size = Some(n);
        self
    }

    /// PT_INTERP = `path` (`-Wl,--dynamic-linker=<abs path>`). Without it gcc
    /// still gives a PIE a PT_INTERP: glibc's ld.so.
    pub fn interp(mut self, path: impl AsRef<Path>) -> Cc {
        self.interp = Some(std::path::absolute(path.as_ref()).unwrap());
        self
    }

    /// Make the link dynamic (PT_DYNAMIC, and PT_INTERP when an interpreter
    /// is set) without adding a DT_NEEDED: links an empty shared library
    /// under `--as-needed`. Needed for ET_EXEC programs with no libraries;
    /// works with lld only (bfd drops the dynamic sections with the unused
    /// library), so it selects [`Linker::Lld`].
    pub fn force_dynamic(mut self) -> Cc {
        self.force_dynamic = true;
        self.linker = Linker::Lld;
        self
    }

    /// Link testbins/rt/rt.c in or not (default: executables yes, shared
    /// libraries no).
    pub fn rt(mut self, yes: bool) -> Cc {
        self.rt = Some(yes);
        self
    }

    /// Extra gcc arguments (after the defaults: they can override them).
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Cc {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, a: I) -> Cc {
        self.args
            .extend(a.into_iter().map(|s| s.as_ref().to_owned()));
        self
    }

    /// The output path this builder will produce.
    pub fn output(&self) -> PathBuf {
        itest_dir().join("testbins").join(&self.dir).join(&self.out)
    }

    /// A program or library linked against glibc (the machine's libc and
    /// start files, no testbins/rt): for the audit module and glibc
    /// programs.
    pub fn libc(mut self) -> Cc {
        self.libc = true;
        self
    }

    /// Run gcc; panic with its output on failure. Returns the output path.
    pub fn build(self) -> PathBuf {
        let out = self.output();
        let dir = out.parent().unwrap();
        std::fs::create_dir_all(dir).unwrap();
        let mut c = Command::new("gcc");
        if self.libc {
            c.args(["-O2", "-g"]);
        } else {
            c.args(["-nostdlib", "-ffreestanding", "-fno-stack-protector", "-fno-builtin", "-O2", "-g"]);
        }
        c.args(["-Wall", "-Wextra", "-Werror=implicit-function-declaration"]);
        c.arg("-I").arg(testbins());
        if self.linker == Linker::Lld {
            c.arg("-B")
                .arg(rust_sysroot().join("lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld"));
            c.arg("-fuse-ld=lld");
        }
        match self.kind {
            Kind::Pie => c.args(["-fPIE", "-pie"]),
            Kind::NoPie => c.args(["-fno-pie", "-no-pie"]),
            Kind::Shared => c.args(["-fPIC", "-shared"]),
        };
        if let Some(n) = self.page_size {
            c.arg(format!("-Wl,-z,max-page-size={n}"));
            if self.linker == Linker::Bfd {
                c.arg("-Wl,-z,separate-code");
            }
        }
        if let Some(i) = &self.interp {
            let mut a = OsString::from("-Wl,--dynamic-linker=");
            a.push(i);
            c.arg(a);
        }
        c.args(["-o".as_ref(), out.as_os_str()]);
        c.args(&self.sources);
        if !self.libc && self.rt.unwrap_or(self.kind != Kind::Shared) {
            c.arg(testbins().join("rt/rt.c"));
        }
        if self.force_dynamic {
            let empty = empty_shared_lib(dir);
            c.arg("-Wl,--as-needed")
                .arg(empty)
                .arg("-Wl,--no-as-needed");
        }
        c.args(&self.args);
        let o = c.stdin(Stdio::null()).output().expect("run gcc");
        if !o.status.success() {
            panic!(
                "gcc failed ({}):\n{:?}\n{}{}",
                o.status,
                c,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        out
    }
}

/// An empty shared library `libempty.so` in `dir` (for [`Cc::force_dynamic`]).
fn empty_shared_lib(dir: &Path) -> PathBuf {
    let src = dir.join("empty.c");
    std::fs::write(&src, "/* nothing */\n").unwrap();
    let lib = dir.join("libempty.so");
    let o = Command::new("gcc")
        .args(["-nostdlib", "-fPIC", "-shared", "-o"])
        .arg(&lib)
        .arg(&src)
        .output()
        .expect("run gcc");
    assert!(
        o.status.success(),
        "gcc libempty.so: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    lib
}

/// `readelf ARGS FILE` stdout (for assertions on how a test program was
/// linked).
pub fn readelf(args: &[&str], file: &Path) -> String {
    let o = Command::new("readelf")
        .args(args)
        .arg(file)
        .output()
        .expect("run readelf");
    assert!(
        o.status.success(),
        "readelf {args:?} {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

// ------------------------------------------------------------------ runs ----

/// A command with an empty environment except `vars`, stdin from /dev/null.
pub fn command(program: impl AsRef<OsStr>, vars: &[(&str, &str)]) -> Command {
    let mut c = Command::new(program);
    c.env_clear();
    for (k, v) in vars {
        c.env(k, v);
    }
    c
}

/// What a finished (or killed) run produced.
#[derive(Debug)]
pub struct Outcome {
    /// `Debug` form of the command (program, args, cwd, env).
    pub command: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Killed by the harness after [`RUN_TIMEOUT`].
    pub timed_out: bool,
    pub elapsed: Duration,
}

/// Run `cmd` (stdin /dev/null, stdout and stderr captured) in its own
/// process group; kill the group after [`RUN_TIMEOUT`].
pub fn run(cmd: &mut Command) -> Outcome {
    run_with_timeout(cmd, RUN_TIMEOUT)
}

pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Outcome {
    let start = Instant::now();
    let (command, mut child) = spawn_piped(cmd);
    let t_out = read_to_end_thread(child.stdout.take().unwrap());
    let t_err = read_to_end_thread(child.stderr.take().unwrap());
    let (status, timed_out) = wait_group(&mut child, start, timeout);
    let elapsed = start.elapsed();
    Outcome {
        command,
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
        timed_out,
        elapsed,
    }
}

/// Wait for `child` (leader of its own process group), killing the group
/// once `timeout` has passed since `start`; then kill what is left of the
/// group (leftover members would keep the pipes open). Returns the status
/// and whether it timed out.
pub fn wait_group(child: &mut Child, start: Instant, timeout: Duration) -> (ExitStatus, bool) {
    let pid = child.id();
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            kill_group(pid);
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    kill_group(pid);
    (status, timed_out)
}

/// Spawn `cmd` in its own process group (so that the whole group can be killed), stdin
/// from /dev/null, stdout and stderr piped. Returns its `Debug` form and the child.
fn spawn_piped(cmd: &mut Command) -> (String, Child) {
    let command = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.process_group(0);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {command}: {e}"));
    (command, child)
}

/// Read `r` to its end on a thread of its own (a full pipe must not block the child).
fn read_to_end_thread(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Outcome {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Everything about the run, for failure messages.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "command: {}", self.command);
        let how = if self.timed_out {
            format!("TIMED OUT after {:?} (killed)", self.elapsed)
        } else if let Some(sig) = self.signal() {
            format!(
                "killed by signal {sig} ({}){}",
                signal_name(sig),
                if self.status.core_dumped() {
                    ", core dumped"
                } else {
                    ""
                }
            )
        } else {
            format!("exit status {}", self.code().unwrap())
        };
        let _ = writeln!(s, "result: {how}");
        let _ = writeln!(s, "--- stdout ---\n{}", self.stdout_str());
        let _ = writeln!(s, "--- stderr ---\n{}", self.stderr_str());
        s
    }

    /// Assert it exited (not signalled, not timed out) with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        if self.timed_out || self.code() != Some(code) {
            panic!("expected exit status {code}\n{}", self.describe());
        }
        self
    }

    #[track_caller]
    pub fn assert_stdout(&self, want: &str) -> &Self {
        if self.stdout != want.as_bytes() {
            panic!(
                "stdout differs\n--- want stdout ---\n{want}\n{}",
                self.describe()
            );
        }
        self
    }

    /// Assert the same stdout and exit status as `oracle` (the same
    /// program under glibc's ld.so); `what` names the case.
    #[track_caller]
    pub fn assert_same_as(&self, oracle: &Outcome, what: &str) -> &Self {
        assert_eq!((self.stdout_str(), self.code()), (oracle.stdout_str(), oracle.code()), "{what}\n{}", self.describe());
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        if !self.stderr_str().contains(needle) {
            panic!("stderr lacks {needle:?}\n{}", self.describe());
        }
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        if !self.stdout_str().contains(needle) {
            panic!("stdout lacks {needle:?}\n{}", self.describe());
        }
        self
    }

    /// Assert `pred(stderr)` holds; `what` says what was expected.
    #[track_caller]
    pub fn assert_stderr(&self, what: &str, pred: impl FnOnce(&str) -> bool) -> &Self {
        if !pred(&self.stderr_str()) {
            panic!("stderr: expected {what}\n{}", self.describe());
        }
        self
    }
}

/// Assert two runs (a reference and a candidate) gave the same exit status
/// and stdout, after `filter` (applied to both stdouts).
#[track_caller]
pub fn assert_same(reference: &Outcome, candidate: &Outcome, filter: impl Fn(&str) -> String) {
    let (a, b) = (
        filter(&reference.stdout_str()),
        filter(&candidate.stdout_str()),
    );
    let status_ok =
        !reference.timed_out && !candidate.timed_out && reference.status == candidate.status;
    if a != b || !status_ok {
        panic!(
            "runs differ{}\n--- diff of filtered stdout (- reference, + candidate) ---\n{}\n=== reference ===\n{}\n=== candidate ===\n{}",
            if status_ok { "" } else { " (exit status)" },
            line_diff(&a, &b),
            reference.describe(),
            candidate.describe()
        );
    }
}

/// A crude line diff: lines only in `a` as `-`, only in `b` as `+`, by
/// position.
pub fn line_diff(a: &str, b: &str) -> String {
    let (la, lb): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
    let mut s = String::new();
    for i in 0..la.len().max(lb.len()) {
        match (la.get(i), lb.get(i)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                if let Some(x) = x {
                    let _ = writeln!(s, "-{x}");
                }
                if let Some(y) = y {
                    let _ = writeln!(s, "+{y}");
                }
            }
        }
    }
    s
}

/// Split off `key=value` lines for the given keys: returns the remaining
/// text and the removed (key, value) pairs in order.
pub fn take_keys(text: &str, keys: &[&str]) -> (String, Vec<(String, String)>) {
    let mut rest = String::new();
    let mut taken = Vec::new();
    for line in text.split_inclusive('\n') {
        let l = line.trim_end_matches('\n');
        match l.split_once('=') {
            Some((k, v)) if keys.contains(&k) => taken.push((k.to_string(), v.to_string())),
            _ => rest.push_str(line),
        }
    }
    (rest, taken)
}

pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => "?",
    }
}

// ------------------------------------------------ packages by manifest ----

/// `cargo build --release --manifest-path MANIFEST` (a standalone package
/// with its own `[workspace]`, or a member of this workspace) into
/// `target_dir`, with the extra environment `env` (e.g. a path a build
/// script needs). No caching beyond cargo's own; the error carries cargo's
/// output.
pub fn cargo_build_manifest(
    what: &str,
    manifest: &Path,
    target_dir: &Path,
    env: &[(&str, &OsStr)],
) -> Result<(), String> {
    let mut c = cargo();
    c.args(["build", "--release", "--manifest-path"])
        .arg(manifest)
        .env("CARGO_TARGET_DIR", target_dir);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo for {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building {what} failed ({:?}, {})\n--- stderr ---\n{}\n--- stdout ---\n{}",
            c,
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(())
}

/// The release build of the gmaps tool (`cargo build --release -p gmaps`
/// into target/itest), built once per test process.
pub fn gmaps() -> &'static Path {
    static P: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    build_once(&P, || {
        cargo_build("gmaps (release)", &["build", "--release", "-p", "gmaps"], &itest_dir())?;
        checked_exe(itest_dir().join("release/gmaps"))
    })
}

// ------------------------------------------------- layout-parameterised ----

/// A linker and max-page-size combination to build a test case in.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub linker: Linker,
    pub page: u64,
}

pub const BFD_4K: Layout = Layout { linker: Linker::Bfd, page: 4096 };
pub const BFD_64K: Layout = Layout { linker: Linker::Bfd, page: 65536 };
pub const LLD_4K: Layout = Layout { linker: Linker::Lld, page: 4096 };
pub const LLD_64K: Layout = Layout { linker: Linker::Lld, page: 65536 };

/// `name_bfd_4k` ... `name_lld_64k` tests calling `f(test_name, layout)`.
#[macro_export]
macro_rules! layouts {
    ($f:ident: $($test:ident => $layout:expr),+ $(,)?) => {
        $(
            #[test]
            fn $test() {
                $f(stringify!($test), $layout)
            }
        )+
    };
}

/// One test's build directory (`target/itest/testbins/<suite>/<test>`,
/// fresh) and layout. Test files add their own builders in `impl Case`.
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub layout: Layout,
}

impl Case {
    pub fn new_in(suite: &str, test: &str, layout: Layout) -> Case {
        let name = format!("{suite}/{test}");
        let dir = out_dir(&name);
        Case { name, dir, layout }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// gcc with this case's layout; `-rpath-link` to the case directory so
    /// the linker finds the dependencies of the libraries it links against;
    /// `--no-as-needed` (Debian's gcc passes --as-needed): every library
    /// given becomes a DT_NEEDED, in the order given.
    pub fn cc(&self, out: &str) -> Cc {
        Cc::new(&self.name, out)
            .linker(self.layout.linker)
            .page_size(self.layout.page)
            .arg("-fno-tree-loop-distribute-patterns")
            .arg("-Wl,--no-as-needed")
            .arg(format!("-Wl,-rpath-link,{}", self.dir.display()))
    }
}
