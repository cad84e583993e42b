//! A subset of CPython's own test suite under guardld's glibc personality
//! against glibc's ld.so (issue 16): test_threading, test_ctypes,
//! test_subprocess, test_json and test_signal of Debian 12's python3.11
//! (package libpython3.11-testsuite; `.ci/run` installs it). Each test file
//! is run by regrtest under both loaders; the set of test cases with their
//! status (ok, FAIL, ERROR, skipped, expected failure, unexpected success),
//! regrtest's totals, its overall result line and the exit status must be
//! identical. glibc's ld.so is the oracle: nothing expected is written
//! here, and a case that fails under glibc too compares equal.
//!
//! The runs (each with its own directory /tmp/gldn<pid>/r/<side>-<test>,
//! kept if the test fails, as cwd, TMPDIR and HOME; an environment of only
//! PATH, LANG=C.UTF-8, TZ=UTC, HOME, TMPDIR and GUARDLD_GLIBC):
//! * reference: `/lib64/ld-linux-x86-64.so.2 PY -m test ...`, PY a plain
//!   copy of /usr/bin/python3 (PT_INTERP glibc's ld.so);
//! * candidate: `guardld --glibc native PY' -m test ...`, PY' a copy of
//!   /usr/bin/python3 whose PT_INTERP is guardld (common::glibc::
//!   copy_with_interp, through short_guardld), with GUARDLD_GLIBC=native.
//!
//! So the top process starts by the explicit command, and every Python
//! the tests start themselves (sys.executable: test_subprocess's hundreds
//! of children, script_helper's `assert_python_ok` in test_signal and
//! test_threading) starts by PT_INTERP: under guardld on the candidate side
//! and under glibc's ld.so on the reference side. That is the stronger
//! test: with `guardld --glibc native /usr/bin/python3` those children
//! would be started by the kernel's PT_INTERP, glibc's ld.so. Both copies
//! live in the same shape of directory (`/tmp/gldn<pid>/py/{glibc,guard}/
//! bin/python3`, with `lib` a symlink to /usr/lib, so that Python finds its
//! standard library and test package there): sys.executable and sys.prefix
//! differ only in that one word of equal length.
//!
//! regrtest runs with `-v --fail-env-changed --timeout T --junit-xml F`:
//! one process, the test cases in their fixed order (no -j, no -r), its
//! default resources (no network, no cpu/decimal/largefile...), a test
//! file that leaves threads, processes or files behind counts as failed,
//! and a hang dumps every thread's traceback. The per-case results are read
//! from the JUnit XML file (the -v text interleaves the tests' own output
//! with the result words); the -v text is shown on failure.
//!
//! SIGINT is reset to its default in each run (a shell's background job
//! ignores it, and test_signal's and test_threading's KeyboardInterrupt
//! cases would then fail under both loaders alike). Cases that change
//! between runs under glibc's ld.so itself are listed in [`UNSTABLE`] with
//! the reason; when one of them differs it is shown, not compared, and
//! the totals, result line and exit status (which it moves) are not
//! compared for that test file either; every other case still is.
//!
//! Timing (2 cores): the five test files run in parallel as the harness
//! allows (one #[test] each; reference and candidate of one file at the
//! same time); test_signal takes ~48 s (mostly sleeps), test_subprocess
//! ~25 s, test_threading ~11 s, test_json and test_ctypes ~2 s each: the
//! file takes ~50 s (~53 s with a second copy of it running alongside).
//!
//! Without /usr/bin/python3 3.11 or the test package, each test says it
//! skipped and passes. `GUARDLD_TEST_GLIBC_MODE=audit` runs the candidate
//! with `--glibc audit` / GUARDLD_GLIBC=audit (glibc's ld.so with
//! guardld's audit module): every comparison must then pass, which checks
//! the harness itself.
//!
//! Run: `cargo test --release --test glibc_cpython -- --nocapture`.

mod common;

use common::glibc::*;
use common::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Debian 12's python3 and the test package's directory.
const PYTHON: &str = "/usr/bin/python3";
const STDLIB: &str = "/usr/lib/python3.11";

/// regrtest's own per-test-file timeout (it dumps the tracebacks of every
/// thread and exits), and the harness's, a little later (kills the group).
const REGRTEST_TIMEOUT: u64 = 150;
const TIMEOUT: Duration = Duration::from_secs(REGRTEST_TIMEOUT + 20);

/// How much of each stdout, stderr and traceback a failure message shows.
const SHOW: usize = 3000;

/// Cases whose outcome is not a property of the loader: left out of the
/// comparison (each is still shown, both outcomes, when they differ).
/// Every entry says why; a case goes here only when it has been seen to
/// change between two runs under glibc's ld.so itself.
/// (test file, case id as in the JUnit XML, reason)
const UNSTABLE: &[(&str, &str, &str)] = &[(
    "test_signal",
    "test.test_signal.StressTest.test_stress_modifying_handlers",
    // A race by design (bpo-43406): a thread raises SIGUSR1 while the main
    // thread flips its handler between a Python function and SIG_IGN
    // 40000 times per round; with every signal landing in a SIG_IGN window
    // it fails "0 not greater than 0". Seen failing once in two parallel
    // runs of glibc's ld.so on a loaded 2-core machine (ok the other time).
    "a scheduling race: failed under glibc's ld.so itself on a loaded machine",
)];

fn mode() -> &'static str {
    match std::env::var("GUARDLD_TEST_GLIBC_MODE").as_deref() {
        Err(_) | Ok("native") => "native",
        Ok("audit") => "audit",
        Ok(other) => panic!("GUARDLD_TEST_GLIBC_MODE={other}: native or audit"),
    }
}

// --------------------------------------------------------------- setup ----

/// Why the tests cannot run here (they then skip), or None.
fn missing(test: &str) -> Option<String> {
    let py = Path::new(PYTHON);
    if !py.exists() {
        return Some(format!("{PYTHON} not installed"));
    }
    let real = std::fs::canonicalize(py).unwrap();
    if !real.ends_with("python3.11") {
        return Some(format!("{PYTHON} is {}, not python3.11", real.display()));
    }
    if interp_of(&real).as_deref() != Some(GLIBC_LD) {
        return Some(format!("{} does not have PT_INTERP {GLIBC_LD}", real.display()));
    }
    let t = Path::new(STDLIB).join("test");
    if !t.join(format!("{test}.py")).exists() && !t.join(test).join("__init__.py").exists() {
        return Some(format!("{test} not in {} (package libpython3.11-testsuite not installed)", t.display()));
    }
    None
}

/// The two copies of python3: (reference, candidate).
fn pythons() -> &'static (PathBuf, PathBuf) {
    static P: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    P.get_or_init(|| {
        let interp = short_guardld();
        let real = std::fs::canonicalize(PYTHON).unwrap();
        let make = |side: &str, interp: Option<&Path>| {
            let top = short_dir().join("py").join(side);
            let _ = std::fs::remove_dir_all(&top);
            std::fs::create_dir_all(top.join("bin")).unwrap();
            std::os::unix::fs::symlink("/usr/lib", top.join("lib")).unwrap();
            let exe = top.join("bin/python3");
            copy_with_interp(&real, &exe, interp.unwrap_or(Path::new(GLIBC_LD)));
            exe
        };
        (make("glibc", None), make("guard", Some(interp)))
    })
}

// ---------------------------------------------------------------- runs ----

/// One test case's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Case {
    status: &'static str,
    /// The skip reason or the traceback, for messages.
    detail: String,
}

/// One regrtest run.
struct Run {
    out: Outcome,
    dir: PathBuf,
    /// Case id -> outcome; Err: the XML file is missing or unreadable.
    cases: Result<BTreeMap<String, Case>, String>,
    /// The totals of the XML's <testsuites>: tests, errors, failures.
    totals: String,
    /// regrtest's "Tests result: ..." line (the last one).
    result: String,
}

impl Run {
    /// "exit 0, SUCCESS, 168 cases (ok 160, skipped 8)".
    fn summary(&self) -> String {
        let mut s = format!("{}, {}", how(&self.out), if self.result.is_empty() { "no result line" } else { &self.result });
        match &self.cases {
            Ok(c) => {
                let mut n: BTreeMap<&str, usize> = BTreeMap::new();
                for v in c.values() {
                    *n.entry(v.status).or_default() += 1;
                }
                let parts: Vec<String> = n.iter().map(|(k, v)| format!("{k} {v}")).collect();
                let _ = write!(s, ", {} cases ({})", c.len(), parts.join(", "));
            }
            Err(e) => {
                let _ = write!(s, ", {e}");
            }
        }
        s
    }
}

fn run_side(test: &str, side: &str) -> Run {
    let (py_ref, py_cand) = pythons();
    let dir = short_dir().join("r").join(format!("{side}-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("home")).unwrap();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let xml = dir.join("junit.xml");
    let m = mode();
    let mut c = if side == "glibc" {
        let mut c = Command::new(GLIBC_LD);
        c.arg(py_ref);
        c
    } else {
        let mut c = Command::new(guardld());
        c.args(["--glibc", m]).arg(py_cand);
        c
    };
    c.args(["-m", "test", "-v", "--fail-env-changed", "--timeout", &REGRTEST_TIMEOUT.to_string(), "--junit-xml"])
        .arg(&xml)
        .arg(test)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .env("TZ", "UTC")
        .env("HOME", dir.join("home"))
        .env("TMPDIR", dir.join("tmp"))
        .env("GUARDLD_GLIBC", m)
        .current_dir(&dir);
    default_sigint(&mut c);
    let out = run_input(&mut c, None, TIMEOUT);
    let text = String::from_utf8_lossy(&out.stdout);
    let result = text.lines().rev().find_map(|l| l.strip_prefix("Tests result: ")).unwrap_or("").to_string();
    let (cases, totals) = match std::fs::read_to_string(&xml) {
        Ok(x) => match parse_junit(&x) {
            Ok((c, t)) => (Ok(c), t),
            Err(e) => (Err(format!("{}: {e}", xml.display())), String::new()),
        },
        Err(e) => (Err(format!("no results ({}: {e})", xml.display())), String::new()),
    };
    Run { out, dir, cases, totals, result }
}

unsafe extern "C" {
    fn signal(signum: i32, handler: usize) -> usize;
}

/// SIGINT at its default disposition in the child, whatever cargo was
/// started with: a shell's background job (`cargo test ... &`) ignores
/// SIGINT, Python then installs no KeyboardInterrupt handler, and the
/// SIGINT tests of test_signal and test_threading fail (under both
/// loaders alike, which would hide them).
fn default_sigint(c: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(SIGINT, SIG_DFL) is async-signal-safe; nothing else
    // runs between fork and exec here.
    unsafe {
        c.pre_exec(|| {
            signal(2, 0);
            Ok(())
        });
    }
}

// ----------------------------------------------------------- JUnit XML ----

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&#10;", "\n").replace("&amp;", "&")
}

/// regrtest's JUnit file (test.support.testresult.RegressionTestResult):
/// one `<testcase name=ID ...>` per case, empty for ok, else with one
/// child: `skipped`, `failure`, `error`, `output` (an expected failure)
/// or `outcome` (an unexpected success). A case whose subtests failed gets
/// a `<testcase />` with no name (its failures are only counted in the
/// totals): it is named after the case before it. Returns the cases and
/// the totals of <testsuites>.
fn parse_junit(x: &str) -> Result<(BTreeMap<String, Case>, String), String> {
    let totals = x
        .find("<testsuites")
        .and_then(|i| x[i..].find('>').map(|j| x[i + "<testsuites".len()..i + j].trim().to_string()))
        .ok_or("no <testsuites>")?;
    let mut cases = BTreeMap::new();
    let mut prev = String::from("(start)");
    let mut rest = x;
    while let Some(i) = rest.find("<testcase") {
        rest = &rest[i + "<testcase".len()..];
        let end = rest.find('>').ok_or("unterminated <testcase")?;
        let attrs = &rest[..end];
        let empty = attrs.ends_with('/');
        let body = if empty {
            ""
        } else {
            let close = rest.find("</testcase>").ok_or("no </testcase>")?;
            &rest[end + 1..close]
        };
        let name = attrs.find("name=\"").map(|a| {
            let v = &attrs[a + 6..];
            unescape(&v[..v.find('"').unwrap_or(v.len())])
        });
        let child = |tag: &str| {
            body.find(&format!("<{tag}")).map(|s| {
                let b = &body[s..];
                let open_end = b.find('>').unwrap_or(b.len());
                let attrs = &b[..open_end];
                let inner = if attrs.ends_with('/') { "" } else { &b[(open_end + 1).min(b.len())..b.find(&format!("</{tag}>")).unwrap_or(b.len())] };
                unescape(inner)
            })
        };
        let (name, case) = match name {
            None => (format!("{prev} [unnamed <testcase>: failed subtests]"), Case { status: "FAIL (subtests)", detail: String::new() }),
            Some(n) => {
                let case = if let Some(d) = child("error") {
                    Case { status: "ERROR", detail: d }
                } else if let Some(d) = child("failure") {
                    Case { status: "FAIL", detail: d }
                } else if let Some(d) = child("skipped") {
                    Case { status: "skipped", detail: d }
                } else if let Some(d) = child("output") {
                    Case { status: "expected failure", detail: d }
                } else if let Some(d) = child("outcome") {
                    Case { status: "unexpected success", detail: d }
                } else {
                    Case { status: "ok", detail: String::new() }
                };
                prev = n.clone();
                (n, case)
            }
        };
        let mut key = name.clone();
        let mut k = 2;
        while cases.contains_key(&key) {
            key = format!("{name} #{k}");
            k += 1;
        }
        cases.insert(key, case);
    }
    if cases.is_empty() {
        return Err("no <testcase>".into());
    }
    Ok((cases, totals))
}

// ------------------------------------------------------------- compare ----

fn unstable(test: &str, case: &str) -> Option<&'static str> {
    UNSTABLE.iter().find(|(t, c, _)| *t == test && *c == case).map(|e| e.2)
}

fn check(test: &str) {
    if let Some(why) = missing(test) {
        println!("skipped: glibc_cpython {test}: {why}");
        return;
    }
    let m = mode();
    // Both at once: the file's runtime is the longest test file's.
    let (r, c) = std::thread::scope(|s| {
        let r = s.spawn(|| run_side(test, "glibc"));
        let c = s.spawn(|| run_side(test, "guard"));
        (r.join().unwrap(), c.join().unwrap())
    });
    let mut fail = String::new();
    let mut notes = String::new();
    // The reference must have run the test file at all.
    let rc = match &r.cases {
        Ok(c) => c,
        Err(e) => panic!("glibc_cpython {test}: under glibc's ld.so: {e} (a broken setup, not a guardld failure)\n{}", r.out.describe()),
    };
    match &c.cases {
        Err(e) => {
            let _ = writeln!(fail, "guardld: {e}");
        }
        Ok(cc) => {
            let names: std::collections::BTreeSet<&String> = rc.keys().chain(cc.keys()).collect();
            for n in names {
                let (a, b) = (rc.get(n), cc.get(n));
                if a.map(|x| x.status) == b.map(|x| x.status) {
                    continue;
                }
                let st = |x: Option<&Case>| x.map_or("(not run)", |x| x.status);
                let mut line = format!("{n}: glibc {} | guardld {}", st(a), st(b));
                for (who, x) in [("glibc", a), ("guardld", b)] {
                    if let Some(x) = x.filter(|x| !x.detail.is_empty()) {
                        let _ = write!(line, "\n  --- {who}: ---\n{}", show_bytes(x.detail.as_bytes(), SHOW));
                    }
                }
                if let Some(why) = unstable(test, n) {
                    let _ = writeln!(notes, "(not compared, {why}) {line}");
                } else {
                    let _ = writeln!(fail, "{line}");
                }
            }
        }
    }
    // The totals and result line follow from the cases unless an
    // unstable case changed them.
    let moved = !notes.is_empty();
    for (what, a, b) in [("totals", &r.totals, &c.totals), ("overall result", &r.result, &c.result)] {
        if a != b && !moved {
            let _ = writeln!(fail, "{what}: glibc {a:?} | guardld {b:?}");
        }
    }
    if (r.out.status != c.out.status || c.out.timed_out) && !moved {
        let _ = writeln!(fail, "status: glibc {} | guardld {}", how(&r.out), how(&c.out));
    }
    let row = format!(
        "glibc_cpython[{m}] {test}: glibc: {} ({:.1?}) | guardld: {} ({:.1?}) => {}",
        r.summary(),
        r.out.elapsed,
        c.summary(),
        c.out.elapsed,
        if fail.is_empty() { "same" } else { "DIFFERS" }
    );
    println!("{row}");
    if !notes.is_empty() {
        println!("{notes}");
    }
    if fail.is_empty() {
        for d in [&r.dir, &c.dir] {
            let _ = std::fs::remove_dir_all(d);
        }
        return;
    }
    let mut s = format!("{row}\n=== differences (guardld --glibc {m} against glibc's ld.so) ===\n{fail}");
    for (who, x) in [("glibc", &r), ("guardld", &c)] {
        let _ = write!(
            s,
            "\n=== {who}: {}\n--- stdout (last {SHOW} bytes) ---\n{}\n--- stderr (last {SHOW} bytes) ---\n{}\n(kept: {})\n",
            x.out.command,
            show_bytes(tail(&x.out.stdout), SHOW),
            show_bytes(tail(&x.out.stderr), SHOW),
            x.dir.display()
        );
    }
    panic!("{s}");
}

fn tail(b: &[u8]) -> &[u8] {
    &b[b.len().saturating_sub(SHOW)..]
}

// --------------------------------------------------------------- tests ----

#[test]
fn test_json() {
    check("test_json");
}

#[test]
fn test_ctypes() {
    check("test_ctypes");
}

#[test]
fn test_threading() {
    check("test_threading");
}

#[test]
fn test_subprocess() {
    check("test_subprocess");
}

#[test]
fn test_signal() {
    check("test_signal");
}

/// The premise of the candidate runs: a Python that the tests start
/// (sys.executable) is started by guardld on the candidate side (natively:
/// no glibc ld.so in its maps) and by glibc's ld.so on the reference side.
#[test]
fn children_start_under_the_same_loader() {
    if let Some(why) = missing("test_subprocess") {
        println!("skipped: glibc_cpython children: {why}");
        return;
    }
    let (py_ref, py_cand) = pythons();
    let m = mode();
    let script = "import subprocess, sys\n\
        child = 'print(*sorted({l.split()[5] for l in open(\"/proc/self/maps\") if len(l.split()) > 5 and l.split()[5].startswith(\"/\")}), sep=\"\\\\n\")'\n\
        sys.stdout.write(subprocess.run([sys.executable, '-c', child], stdout=subprocess.PIPE, check=True, text=True).stdout)";
    let go = |c: &mut Command| {
        c.args(["-c", script]).env_clear().env("PATH", "/usr/bin:/bin").env("GUARDLD_GLIBC", m);
        let o = run_input(c, None, Duration::from_secs(30));
        o.assert_code(0);
        o.stdout_str()
    };
    let r = go(Command::new(GLIBC_LD).arg(py_ref));
    let c = go(Command::new(guardld()).args(["--glibc", m]).arg(py_cand));
    let ld = std::fs::canonicalize(GLIBC_LD).unwrap();
    let ours = std::fs::canonicalize(guardld()).unwrap();
    let ours = ours.parent().unwrap().to_str().unwrap();
    let has_ld = |maps: &str| maps.lines().any(|l| Path::new(l) == ld);
    let has_ours = |maps: &str| maps.lines().any(|l| l.starts_with(ours));
    assert!(has_ld(&r) && !has_ours(&r), "reference child's files:\n{r}");
    assert!(has_ours(&c), "candidate child maps nothing of guardld's ({ours}):\n{c}");
    if m == "native" {
        assert!(!has_ld(&c), "candidate child maps glibc's ld.so {}:\n{c}", ld.display());
    }
    println!("glibc_cpython[{m}] children: reference child under {}, candidate child under {ours}", ld.display());
}

/// The JUnit reader on regrtest's shapes (the comparison is only as good
/// as this).
#[test]
fn junit_reader() {
    let x = r#"<testsuites tests="6" errors="1" failures="2"><testsuite start="x" tests="6" errors="1" failures="2"><testcase name="m.A.test_ok" status="run" result="completed" time="0.1" /><testcase name="m.A.test_skip" status="run" result="completed" time="0.0"><skipped>not &lt;here&gt;</skipped></testcase><testcase name="m.A.test_fail" status="run" result="completed" time="0.0"><failure type="AssertionError" message="x">Traceback &amp; more</failure></testcase><testcase name="m.A.test_err" status="run" result="completed" time="0.0"><error type="E" message="y">tb</error></testcase><testcase /><testcase name="m.A.test_xf" status="run" result="completed" time="0.0"><output type="E" message="z">tb</output></testcase><testcase name="m.A.test_us" status="run" result="completed" time="0.0"><outcome>UNEXPECTED_SUCCESS</outcome></testcase></testsuite></testsuites>"#;
    let (c, t) = parse_junit(x).unwrap();
    assert_eq!(t, r#"tests="6" errors="1" failures="2""#);
    let got: Vec<(String, &str)> = c.iter().map(|(k, v)| (k.clone(), v.status)).collect();
    let want = [
        ("m.A.test_err", "ERROR"),
        ("m.A.test_err [unnamed <testcase>: failed subtests]", "FAIL (subtests)"),
        ("m.A.test_fail", "FAIL"),
        ("m.A.test_ok", "ok"),
        ("m.A.test_skip", "skipped"),
        ("m.A.test_us", "unexpected success"),
        ("m.A.test_xf", "expected failure"),
    ];
    assert_eq!(got, want.iter().map(|(a, b)| (a.to_string(), *b)).collect::<Vec<_>>());
    assert_eq!(c["m.A.test_skip"].detail, "not <here>");
    assert_eq!(c["m.A.test_fail"].detail, "Traceback & more");
    assert!(parse_junit("<testsuites></testsuites>").is_err());
}
