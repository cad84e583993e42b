//! guardld's native glibc personality against glibc's own ld.so, on the
//! machine's programs: each is run the same way under both loaders, and
//! stdout and exit status must be identical (stderr is shown, not
//! compared). glibc's ld.so is the oracle; nothing expected is computed
//! here.
//!
//! Two ways of running, each with its own glibc reference:
//! * explicit: `/lib64/ld-linux-x86-64.so.2 PROG ARGS` against
//!   `guardld --glibc native PROG ARGS`;
//! * PT_INTERP: PROG itself (the kernel starts glibc's ld.so) against a
//!   copy of PROG whose PT_INTERP is guardld, with GUARDLD_GLIBC=native
//!   in both environments and argv[0] = PROG in both. The copy's PT_INTERP
//!   is written over glibc's 28 bytes, so it names guardld through a short
//!   symlinked path (common::glibc::short_guardld).
//!
//! Every run: its own temporary directory (/tmp/gldn<pid>/<case>, kept if
//! the test fails) holding deterministic inputs, that directory as cwd, an
//! environment of only LC_ALL=C, TZ=UTC, PATH and HOME, stdin given or
//! /dev/null. A program that is not installed is reported as skipped.
//! The layout tests at the end check what the process looks like under
//! guardld (no glibc ld.so mapped, no `---p` padding).
//!
//! Run: `cargo test --release --test glibc_native` (add `-- --nocapture`
//! to see one line per program). `GUARDLD_TEST_GLIBC_MODE=audit` runs the
//! candidates with `--glibc audit` / GUARDLD_GLIBC=audit (glibc's ld.so
//! with guardld's audit module) instead: every comparison must then pass,
//! which checks the harness itself.

mod common;

use common::glibc::*;
use common::*;
use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// Per run; a hanging candidate must not stretch the file's runtime much.
const TIMEOUT: Duration = Duration::from_secs(10);

/// How much of each stdout and stderr a failure message shows.
const SHOW: usize = 1500;

/// The glibc mode the candidates run in: native unless
/// GUARDLD_TEST_GLIBC_MODE says audit (to validate this harness).
fn mode() -> &'static str {
    match std::env::var("GUARDLD_TEST_GLIBC_MODE").as_deref() {
        Err(_) | Ok("native") => "native",
        Ok("audit") => "audit",
        Ok(other) => panic!("GUARDLD_TEST_GLIBC_MODE={other}: native or audit"),
    }
}

// ------------------------------------------------------------- fixture ----

/// Fixed mtime of the fixture files (ls, find and tar show it).
const MTIME: u64 = 1_000_000_000;

/// 300 lines `w<k> <n>`, n from a fixed LCG: input for sort, sed, grep...
fn words() -> String {
    let mut x: u32 = 12345;
    let mut s = String::new();
    for k in 0..300 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let _ = writeln!(s, "w{} {}", k % 97, (x >> 16) % 1000);
    }
    s
}

fn csv() -> String {
    let names = ["apple", "pear", "fig", "plum", "kiwi"];
    (0..50).map(|i| format!("{},{},{}.{:02}\n", names[i % 5], i * 7 % 13, i % 9, i * 31 % 100)).collect()
}

/// The per-case temporary directory with the fixture: tree/ (files,
/// a subdirectory, an executable, binary data; fixed mtimes), words.txt,
/// data.csv, home/. Removed when dropped, unless the test failed.
struct Tmp(PathBuf);

impl Tmp {
    fn new(case: &str) -> Tmp {
        // Created first: it removes the directories of dead test processes.
        short_guardld();
        let d = short_dir().join(case);
        let _ = std::fs::remove_dir_all(&d);
        let w = |rel: &str, data: &[u8]| {
            let p = d.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data).unwrap();
        };
        w("tree/a.txt", b"alpha\nbeta\ngamma\n");
        w("tree/b.txt", b"Alef 100\nbet 200\n\ttabbed line\n");
        w("tree/sub/c.txt", "ünïcode bytes\n".as_bytes());
        w("tree/sub/d.bin", &(0..=255u8).collect::<Vec<_>>());
        w("tree/run.sh", b"#!/bin/sh\necho run\n");
        w("words.txt", words().as_bytes());
        w("data.csv", csv().as_bytes());
        std::fs::create_dir_all(d.join("home")).unwrap();
        std::fs::create_dir_all(d.join("interp")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.join("tree/run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        // Files first, then directories, deepest first (writing into a
        // directory changes its mtime).
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME);
        for rel in ["tree/a.txt", "tree/b.txt", "tree/sub/c.txt", "tree/sub/d.bin", "tree/run.sh", "tree/sub", "tree"] {
            let f = std::fs::File::open(d.join(rel)).unwrap();
            f.set_times(std::fs::FileTimes::new().set_modified(t).set_accessed(t)).unwrap();
        }
        Tmp(d)
    }

    /// A fixture made by one of the machine's programs, run plainly (not a
    /// program under test): `sh -c SCRIPT` in the directory.
    fn make_with(&self, script: &str) {
        let mut c = command("/bin/sh", &[("LC_ALL", "C"), ("PATH", "/usr/bin:/bin"), ("TZ", "UTC")]);
        c.args(["-c", script]).current_dir(&self.0);
        run(&mut c).assert_code(0);
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept for inspection: {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

// --------------------------------------------------------------- cases ----

/// One program run, and how.
struct Case {
    name: &'static str,
    /// Where the program may be installed: the first that exists is used.
    progs: Vec<PathBuf>,
    /// `{tmp}` stands for the case's temporary directory.
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    env: Vec<(&'static str, String)>,
    /// The exit status glibc's runs must give: a check of the case itself
    /// (a case that fails under glibc would compare two failures).
    code: i32,
    /// Makes extra fixture files with the machine's programs.
    setup: Option<&'static str>,
}

impl Case {
    fn new(name: &'static str, progs: &[&str], args: &[&str]) -> Case {
        Case {
            name,
            progs: progs.iter().map(PathBuf::from).collect(),
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: None,
            env: Vec::new(),
            code: 0,
            setup: None,
        }
    }
    fn stdin(mut self, b: impl Into<Vec<u8>>) -> Case {
        self.stdin = Some(b.into());
        self
    }
    fn env(mut self, k: &'static str, v: &str) -> Case {
        self.env.push((k, v.to_string()));
        self
    }
    fn code(mut self, c: i32) -> Case {
        self.code = c;
        self
    }
    fn setup(mut self, script: &'static str) -> Case {
        self.setup = Some(script);
        self
    }
}

/// The first of `progs` that is a dynamically linked glibc program
/// (PT_INTERP glibc's ld.so); Err says why none is usable.
fn installed(progs: &[PathBuf]) -> Result<PathBuf, String> {
    let mut why = Vec::new();
    for p in progs {
        if !p.exists() {
            why.push(format!("{} not installed", p.display()));
            continue;
        }
        let real = std::fs::canonicalize(p).unwrap();
        match interp_of(&real) {
            Some(i) if Path::new(&i) == Path::new(GLIBC_LD) => return Ok(p.clone()),
            i => why.push(format!("{} (= {}) has PT_INTERP {i:?}, not {GLIBC_LD}", p.display(), real.display())),
        }
    }
    Err(why.join("; "))
}

/// A reference run (glibc's ld.so) and the candidate run (guardld) of one
/// way of running a case.
struct Pair {
    way: &'static str,
    reference: Outcome,
    candidate: Outcome,
}

/// Run `case` both ways under both loaders; panic with every difference.
fn check(case: Case) {
    let prog = match installed(&case.progs) {
        Ok(p) => p,
        Err(why) => {
            println!("skipped: {}: {why}", case.name);
            return;
        }
    };
    let tmp = Tmp::new(case.name);
    if let Some(s) = case.setup {
        tmp.make_with(s);
    }
    let t = tmp.0.to_str().unwrap();
    let args: Vec<String> = case.args.iter().map(|a| a.replace("{tmp}", t)).collect();
    let mut env: Vec<(String, String)> = [("LC_ALL", "C"), ("TZ", "UTC"), ("PATH", "/usr/bin:/bin")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.push(("HOME".into(), format!("{t}/home")));
    env.extend(case.env.iter().map(|(k, v)| (k.to_string(), v.replace("{tmp}", t))));
    let go = |program: &Path, pre: &[&str], argv0: Option<&Path>, extra: &[(&str, &str)]| {
        let mut c = Command::new(program);
        c.env_clear().envs(env.iter().map(|(k, v)| (k, v))).envs(extra.iter().copied()).current_dir(&tmp.0);
        if let Some(a) = argv0 {
            c.arg0(a);
        }
        c.args(pre).args(&args);
        run_input(&mut c, case.stdin.as_deref(), TIMEOUT)
    };
    let p = prog.to_str().unwrap();
    let m = mode();
    let copy = tmp.0.join("interp").join(prog.file_name().unwrap());
    copy_with_interp(&prog, &copy, short_guardld());
    let gl = [("GUARDLD_GLIBC", m)];
    let pairs = [
        Pair {
            way: "explicit",
            reference: go(Path::new(GLIBC_LD), &[p], None, &[]),
            candidate: go(guardld(), &["--glibc", m, p], None, &[]),
        },
        Pair { way: "PT_INTERP", reference: go(&prog, &[], Some(&prog), &gl), candidate: go(&copy, &[], Some(&prog), &gl) },
    ];
    let cmdline = format!("{p} {}", args.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(" "));
    let mut row = format!("glibc_native[{m}] {:<16}", case.name);
    let mut failures = String::new();
    for pr in &pairs {
        // The case itself must work under glibc.
        if pr.reference.timed_out || pr.reference.code() != Some(case.code) {
            let _ = write!(
                failures,
                "\n=== {}: {} under glibc's ld.so: {}, expected exit {} (a broken case, not a guardld failure)\n{}",
                case.name,
                pr.way,
                how(&pr.reference),
                case.code,
                pr.reference.describe()
            );
        }
        let same = !pr.candidate.timed_out && pr.reference.status == pr.candidate.status && pr.reference.stdout == pr.candidate.stdout;
        let _ = write!(
            row,
            " | {}: {} ({}, {} B)",
            pr.way,
            if same { "same" } else { "DIFFERS" },
            how(&pr.candidate),
            pr.candidate.stdout.len()
        );
        if !same {
            failures.push_str(&difference(case.name, &cmdline, pr));
        }
    }
    println!("{row}");
    assert!(failures.is_empty(), "{row}\n{failures}");
}

/// A failure message: program, arguments, both statuses and stdouts
/// (truncated), their first differing lines, both stderrs, both commands.
fn difference(name: &str, cmdline: &str, pr: &Pair) -> String {
    let (r, c) = (&pr.reference, &pr.candidate);
    let mut s = String::new();
    let _ = writeln!(s, "\n=== {name}, {} run: guardld --glibc {} differs from glibc's ld.so", pr.way, mode());
    let _ = writeln!(s, "program and args: {cmdline}");
    let _ = writeln!(s, "status: glibc {} | guardld {}", how(r), how(c));
    let _ = writeln!(s, "stdout: glibc {} bytes | guardld {} bytes{}", r.stdout.len(), c.stdout.len(), if r.stdout == c.stdout { " (same)" } else { "" });
    if r.stdout != c.stdout {
        if let (Ok(a), Ok(b)) = (std::str::from_utf8(&r.stdout), std::str::from_utf8(&c.stdout)) {
            let d = line_diff(a, b);
            let _ = writeln!(s, "--- differing lines (- glibc, + guardld) ---\n{}", show_bytes(d.as_bytes(), SHOW));
        }
        let _ = writeln!(s, "--- glibc stdout ---\n{}", show_bytes(&r.stdout, SHOW));
        let _ = writeln!(s, "--- guardld stdout ---\n{}", show_bytes(&c.stdout, SHOW));
    }
    let _ = writeln!(s, "--- glibc stderr ---\n{}", show_bytes(&r.stderr, SHOW));
    let _ = writeln!(s, "--- guardld stderr ---\n{}", show_bytes(&c.stderr, SHOW));
    let _ = writeln!(s, "glibc command: {}\nguardld command: {}", r.command, c.command);
    s
}

// ------------------------------------------------------------- programs ----

#[test]
fn coreutils_ls() {
    check(Case::new("ls", &["/usr/bin/ls"], &["-lAR", "--time-style=long-iso", "{tmp}/tree"]));
}

#[test]
fn coreutils_cat() {
    check(Case::new("cat", &["/usr/bin/cat"], &["-n", "-A", "{tmp}/tree/b.txt", "-", "{tmp}/words.txt"]).stdin("from stdin\n\tsecond\n"));
}

#[test]
fn coreutils_sort() {
    check(Case::new("sort", &["/usr/bin/sort"], &["-s", "-t", " ", "-k2,2n", "-k1,1r"]).stdin(words()));
}

#[test]
fn coreutils_sha256sum() {
    check(Case::new("sha256sum", &["/usr/bin/sha256sum"], &["{tmp}/tree/a.txt", "{tmp}/tree/sub/d.bin", "-"]).stdin(words()));
}

#[test]
fn coreutils_date() {
    check(Case::new("date", &["/usr/bin/date"], &["-d", "2024-02-29 13:45:07", "+%F %T %Z %z %j %a %b %s %U %V %c"]).env("TZ", "UTC"));
}

#[test]
fn coreutils_env_i() {
    check(Case::new("env_i", &["/usr/bin/env"], &["-i", "A=1", "B=two words", "C="]));
}

/// The controlled environment itself (GUARDLD_GLIBC is in both PT_INTERP
/// runs' environments).
#[test]
fn coreutils_env() {
    check(Case::new("env", &["/usr/bin/env"], &[]).env("EXTRA", "x y"));
}

#[test]
fn bash_script() {
    let script = r#"
        s=0; for i in $(seq 1 6); do s=$((s + i * i)); echo "$i $s"; done
        x=$(printf '%s' abc | tr a-c A-C); echo "$x ${#x} ${x,,}"
        arr=(zeta eta theta); echo "${arr[@]:1} ${#arr[@]}"
        declare -A m=([k]=v [q]=w); echo "${m[k]}${m[q]}"
        f() { local r=$(( $1 ** 3 % 1000 )); echo "f:$r"; return 3; }; f 17; echo "rc=$?"
        while read -r w n; do [ "$n" -gt 990 ] && echo "big $w $n"; done < words.txt
        printf '%05d|%-4s|%x\n' 42 ab 255
        exit 7"#;
    check(Case::new("bash", &["/usr/bin/bash", "/bin/bash"], &["-c", script]).code(7));
}

#[test]
fn dash_script() {
    let script = r#"
        i=0; while [ $i -lt 6 ]; do i=$((i + 1)); echo "$i $((i * i)) $((i % 4))"; done
        x=$(echo hello | sed s/l/L/g); echo "$x"
        case $x in heLLo) echo match ;; *) echo nomatch ;; esac
        set -- a b c; echo "$# $2"; shift; echo "$*"
        n=$(wc -l < words.txt); echo "lines $n"
        exit 3"#;
    check(Case::new("dash", &["/usr/bin/dash", "/bin/dash"], &["-c", script]).code(3));
}

#[test]
fn sed() {
    check(Case::new("sed", &["/usr/bin/sed", "/bin/sed"], &["-E", "-n", "-e", r"s/^w([0-9]+) ([0-9]+)$/\2:\1/", "-e", "y/0123/abcd/", "-e", "/^9/p", "-e", "$=", "{tmp}/words.txt"]));
}

#[test]
fn grep() {
    check(Case::new("grep", &["/usr/bin/grep", "/bin/grep"], &["-n", "-E", "-i", "-e", "^W1[0-9] ", "-e", " 7[0-9]$", "{tmp}/words.txt", "{tmp}/tree/b.txt"]));
}

#[test]
fn grep_no_match() {
    check(Case::new("grep_no_match", &["/usr/bin/grep", "/bin/grep"], &["-c", "xyzzy", "{tmp}/words.txt"]).code(1));
}

#[test]
fn awk() {
    let prog = r#"{ q[$1] += $2; t += $2 * $3 }
        END { n = 0; for (k in q) n++
              printf "%d names, total %.2f, sqrt %.6f, sin %.6f, exp %.4e, log %.5f\n", n, t, sqrt(t), sin(t), exp(10), log(t)
              split("c b a", A, " "); print A[3] A[2] A[1], length("abcdef"), toupper("abc"), substr("abcdef", 2, 3), index("abc", "c")
              s = "x-y-z"; gsub(/-/, "+", s); print s, q["fig"], q["plum"], int(-3.7), 2^10 }"#;
    check(Case::new("awk", &["/usr/bin/mawk", "/usr/bin/gawk", "/usr/bin/original-awk"], &["-F,", prog, "{tmp}/data.csv"]));
}

#[test]
fn find() {
    check(Case::new("find", &["/usr/bin/find"], &["{tmp}/tree", "(", "-type", "f", "-o", "-type", "d", ")", "-printf", "%y %P %s %m %TY-%Tm-%Td\n"]));
}

/// The archive itself on stdout (fixed names, times and owners, sorted).
#[test]
fn tar_create() {
    check(Case::new("tar_create", &["/usr/bin/tar", "/bin/tar"], &["-cf", "-", "--sort=name", "--mtime=@1000000000", "--owner=0", "--group=0", "--numeric-owner", "-C", "{tmp}/tree", "."]));
}

/// Lists an archive made in the temporary directory (by the machine's tar,
/// plainly).
#[test]
fn tar_list() {
    check(
        Case::new("tar_list", &["/usr/bin/tar", "/bin/tar"], &["-tvf", "{tmp}/fixed.tar"])
            .setup("tar -cf fixed.tar --sort=name --mtime=@1000000000 --owner=0 --group=0 --numeric-owner -C tree ."),
    );
}

#[test]
fn gzip_compress() {
    check(Case::new("gzip", &["/usr/bin/gzip", "/bin/gzip"], &["-9", "-n", "-c"]).stdin(words()));
}

#[test]
fn gzip_decompress() {
    check(Case::new("gunzip", &["/usr/bin/gzip", "/bin/gzip"], &["-d", "-c", "{tmp}/fixed.gz"]).setup("gzip -n -c words.txt > fixed.gz"));
}

#[test]
fn xz_compress() {
    check(Case::new("xz", &["/usr/bin/xz"], &["-6", "-T1", "--check=crc64", "-c"]).stdin(words().repeat(4)));
}

#[test]
fn xz_decompress() {
    check(Case::new("unxz", &["/usr/bin/xz"], &["-d", "-c", "{tmp}/fixed.xz"]).setup("xz -T1 -c words.txt > fixed.xz"));
}

#[test]
fn python3() {
    let code = r#"
import zlib, math, _sha256, sys
data = open('words.txt', 'rb').read()
z = zlib.compress(data, 9)
print(len(data), len(z), zlib.crc32(data), zlib.adler32(data), zlib.decompress(z) == data)
print(_sha256.sha256(data).hexdigest())
print(math.factorial(30), math.gcd(2**40, 6**20), f"{math.lgamma(10.5):.12f}", f"{math.erf(0.3):.15f}", math.isqrt(10**30))
print(sorted({w.split()[0] for w in data.decode().splitlines()})[:5], sum(range(10**5)))
sys.exit(4)"#;
    check(Case::new("python3", &["/usr/bin/python3"], &["-I", "-S", "-c", code]).code(4));
}

/// Extension modules from lib-dynload (dlopen), and ctypes calling libc
/// through dlopen/dlsym.
#[test]
fn python3_extensions() {
    let code = r#"
import bz2, lzma, json, ctypes, decimal
data = open('words.txt', 'rb').read()
print(len(bz2.compress(data, 9)), len(lzma.compress(data, preset=6)), bz2.decompress(bz2.compress(data)) == data)
decimal.getcontext().prec = 50
print(decimal.Decimal(1) / decimal.Decimal(7), json.dumps({"b": [1, 2.5, None], "a": "x"}, sort_keys=True))
libc = ctypes.CDLL("libc.so.6")
print(libc.strlen(b"guardld"), ctypes.sizeof(ctypes.c_long), libc.abs(-5))"#;
    check(Case::new("python3_ext", &["/usr/bin/python3"], &["-I", "-S", "-c", code]));
}

/// More extension modules (ssl, sqlite3, decimal, lzma, json, ctypes:
/// dlopen of lib-dynload and their libraries) and libm's cos through
/// ctypes (dlopen and dlsym from Python).
#[test]
fn python3_dlopen_modules() {
    let code = r#"
import ssl, json, sqlite3, ctypes, ctypes.util, decimal, lzma
print(ssl.OPENSSL_VERSION_INFO[0] >= 1, ssl.PROTOCOL_TLS_CLIENT, len(ssl.create_default_context().get_ciphers()) > 0)
db = sqlite3.connect(":memory:"); db.execute("create table t(x)"); db.executemany("insert into t values (?)", [(i,) for i in range(50)])
print(db.execute("select count(*), sum(x), group_concat(x % 7, '') from t").fetchone(), sqlite3.sqlite_version_info >= (3,))
decimal.getcontext().prec = 40
print(decimal.Decimal(2).sqrt(), json.loads(json.dumps({"a": [1, 2.5, None, "é"]})))
data = open('words.txt', 'rb').read()
print(len(lzma.compress(data, preset=3)), lzma.decompress(lzma.compress(data)) == data)
libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
libm.cos.restype = ctypes.c_double; libm.cos.argtypes = [ctypes.c_double]
print(f"{libm.cos(1.0):.15f}", f"{libm.cos(0.25):.15f}")
libc = ctypes.CDLL(None)
print(libc.strlen(b"guardld"), ctypes.CDLL("libc.so.6").abs(-9))
try:
    ctypes.CDLL("libguardld-no-such-lib.so.9")
except OSError as e:
    print("OSError:", e)
try:
    libm.guardld_no_such_function
except AttributeError as e:
    print("AttributeError:", e)
"#;
    check(Case::new("python3_dlopen", &["/usr/bin/python3"], &["-I", "-S", "-c", code]));
}

/// A malloc replacement preloaded into glibc programs (LD_PRELOAD of a
/// library interposing libc's malloc family, testbins/glibc-threads/
/// mymalloc.c): Python's extension modules and threads allocate from it
/// (it exports `mymalloc_owns`, which ctypes finds in the global scope),
/// and sort's buffers.
#[test]
fn malloc_replacement_preloaded() {
    let lib = common::audit::glibc_lld64("glibc_native/mymalloc", "libmymalloc.so").source("glibc-threads/mymalloc.c").shared().build();
    let lib = lib.to_str().unwrap();
    let code = r#"
import ctypes, json, sqlite3, ssl, decimal, threading
me = ctypes.CDLL(None)
print("replacement in the global scope:", hasattr(me, "mymalloc_owns"))
buf = ctypes.create_string_buffer(64)
out = []
def work(k):
    db = sqlite3.connect(":memory:"); db.execute("create table t(x)"); db.executemany("insert into t values (?)", [(i * k,) for i in range(200)])
    out.append((k, db.execute("select sum(x) from t").fetchone()[0], str(decimal.Decimal(k) / 7)[:12]))
ts = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
for t in ts: t.start()
for t in ts: t.join()
print(sorted(out), json.dumps({"ssl": ssl.OPENSSL_VERSION_INFO[0] >= 1}))
"#;
    check(Case::new("python3_mymalloc", &["/usr/bin/python3"], &["-I", "-S", "-c", code]).env("LD_PRELOAD", lib));
    check(Case::new("sort_mymalloc", &["/usr/bin/sort"], &["-k2,2n", "-k1,1", "words.txt"]).env("LD_PRELOAD", lib));
}

/// Perl's POSIX (an XS module: DynaLoader's dlopen and dlsym).
#[test]
fn perl_posix() {
    let code = r#"use POSIX qw(floor ceil fmod strftime INT_MAX); printf "%d %d %.3f %s %d %s
", floor(-2.5), ceil(2.1), fmod(7, 3), strftime("%Y-%m-%d %H:%M", gmtime(1e9)), INT_MAX, POSIX::strtol("ff", 16); exit 3;"#;
    check(Case::new("perl_posix", &["/usr/bin/perl"], &["-MPOSIX", "-e", code]).code(3));
}

/// iconv loads its gconv module (UTF-16) with libc's own dlopen.
#[test]
fn iconv_utf16() {
    check(Case::new("iconv", &["/usr/bin/iconv"], &["-f", "UTF-8", "-t", "UTF-16"]).stdin("h\u{e9}llo, w\u{f6}rld \u{20ac}\n"));
}

/// getent passwd root (passwd: files systemd; glibc 2.36 has the files
/// service built in: found without loading a module).
#[test]
fn getent_passwd_root() {
    check(Case::new("getent", &["/usr/bin/getent"], &["passwd", "root"]));
}

/// An NSS module loaded by libc's own dlopen: `-s systemd` asks
/// libnss_systemd.so.2 only (it synthesizes root's record).
#[test]
fn getent_nss_module() {
    check(Case::new("getent_nss", &["/usr/bin/getent"], &["-s", "systemd", "passwd", "root"]));
}

/// Perl without XS modules (no dlopen).
#[test]
fn perl() {
    let code = r#"
use strict; use warnings;
my %h = (a => 1, b => 2, c => 3);
print join(",", map { "$_=$h{$_}" } sort keys %h), "\n";
printf "%.10f %s\n", atan2(1, 1) * 4, scalar gmtime(1e9);
my @n = map { $_ ** 2 } 1 .. 100; my $t = 0; $t += $_ for @n; print "$t\n";
print scalar reverse("hello"), " ", uc sprintf("%x", 48879), "\n";
open my $f, "<", "words.txt" or die; my $c = () = <$f>; print "lines $c\n";
my $s = "a1b22c333"; (my $u = $s) =~ s/(\d+)/<$1>/g; print "$u\n";
exit 6;"#;
    check(Case::new("perl", &["/usr/bin/perl"], &["-e", code]).code(6));
}

/// Perl with XS modules (POSIX, List::Util, Digest::MD5: dlopen).
#[test]
fn perl_xs_modules() {
    let code = r#"
use strict; use warnings; use POSIX qw(floor strftime); use List::Util qw(sum max); use Digest::MD5 qw(md5_hex);
my %h = (a => 1, b => 2, c => 3);
print join(",", map { "$_=$h{$_}" } sort keys %h), "\n";
printf "%.10f %d %s\n", atan2(1, 1) * 4, floor(-2.5), strftime("%Y-%m-%d", gmtime(1e9));
my @n = map { $_ ** 2 } 1 .. 100; print sum(@n), " ", max(@n), "\n";
print md5_hex("guardld"), " ", scalar reverse("hello"), " ", uc sprintf("%x", 48879), "\n";
open my $f, "<", "words.txt" or die; my $c = () = <$f>; print "lines $c\n";
my $s = "a1b22c333"; (my $t = $s) =~ s/(\d+)/<$1>/g; print "$t\n";
exit 6;"#;
    check(Case::new("perl_xs", &["/usr/bin/perl"], &["-e", code]).code(6));
}

#[test]
fn git_hash_object() {
    check(
        Case::new("git", &["/usr/bin/git", "/usr/local/bin/git"], &["hash-object", "--stdin", "--", "{tmp}/tree/a.txt", "{tmp}/words.txt"])
            .stdin(csv())
            .env("GIT_CONFIG_NOSYSTEM", "1"),
    );
}

#[test]
fn sqlite3() {
    let sql = "
        create table t(name text, qty int, price real);
        with recursive n(i) as (select 0 union all select i + 1 from n where i < 199)
          insert into t select 'item' || (i % 17), i * 7 % 13, (i % 9) + 0.25 from n;
        select name, count(*), sum(qty), printf('%.2f', avg(price)) from t group by name order by sum(qty) desc, name limit 5;
        select count(distinct name), max(qty * price), group_concat(distinct qty) from t;
        create index ti on t(qty); select quote(min(name)), typeof(avg(qty)) from t where qty > 10;
    ";
    check(Case::new("sqlite3", &["/usr/bin/sqlite3"], &["-batch", ":memory:"]).stdin(sql));
}

#[test]
fn openssl_dgst() {
    check(Case::new("openssl_dgst", &["/usr/bin/openssl"], &["dgst", "-sha256", "{tmp}/tree/a.txt", "{tmp}/words.txt"]));
}

/// AES from stdin to stdout (binary).
#[test]
fn openssl_enc() {
    let (k, iv) = ("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "f0e0d0c0b0a090807060504030201000");
    check(Case::new("openssl_enc", &["/usr/bin/openssl"], &["enc", "-aes-256-cbc", "-K", k, "-iv", iv, "-nosalt"]).stdin(words()));
}

/// testbins/glibc/cxx_*.cc: C++ exceptions across a shared library, both
/// linked by lld with 64 KiB max-page-size; needs g++.
#[test]
fn cxx_exceptions_across_a_library() {
    if !have_gxx() {
        println!("skipped: cxx: g++ is not installed (Debian: apt-get install g++)");
        return;
    }
    let d = out_dir("glibc_native/cxx");
    let src = |f: &str| testbins().join("glibc").join(f);
    let lib = gxx(&d.join("libcxxthrow.so"), &["-fPIC".as_ref(), "-shared".as_ref(), src("cxx_lib.cc").as_os_str()]);
    let rpath = format!("-Wl,-rpath,{}", d.display());
    let main = gxx(&d.join("cxx_main"), &["-fPIE".as_ref(), "-pie".as_ref(), src("cxx_main.cc").as_os_str(), lib.as_os_str(), rpath.as_ref()]);
    let mut c = Case::new("cxx", &[], &[]).code(5);
    c.progs = vec![main];
    check(c);
}

// --------------------------------------------------------------- layout ----

/// The part of `maps_main`'s output before its maps, and the maps.
fn split_maps(o: &Outcome) -> (String, Vec<Vma>) {
    let s = o.stdout_str();
    let (head, maps) = s.split_once("--- maps ---\n").unwrap_or((&s, ""));
    (head.to_string(), parse_maps(maps))
}

/// What the process under guardld must look like: glibc's ld.so is not
/// mapped (with the audit mode it is: that mode hands over to it), and no
/// mapped ELF object has a `---p` VMA in its span. Returns the objects.
#[track_caller]
fn assert_guardld_layout(what: &str, o: &Outcome, maps: &[Vma]) -> Vec<MappedObject> {
    let text: String = maps.iter().map(|v| format!("{}\n", v.line)).collect();
    let has_ld = maps.iter().any(|v| v.path.ends_with("/ld-linux-x86-64.so.2"));
    if mode() == "native" {
        assert!(!has_ld, "{what}: glibc's ld.so is mapped under guardld --glibc native:\n{text}\n{}", o.describe());
    } else {
        // The detection above sees it where it is.
        assert!(has_ld, "{what}: no ld-linux-x86-64.so.2 under --glibc {}:\n{text}", mode());
    }
    let objs = mapped_objects(maps);
    assert!(objs.iter().any(|o| o.path.ends_with("/libc.so.6")), "{what}: no libc.so.6 in the maps:\n{text}\n{}", o.describe());
    for ob in &objs {
        assert!(ob.prot_none.is_empty(), "{what}: {} ({} gaps) has ---p VMAs in its span under guardld --glibc {}:\n{}\n--- maps ---\n{text}", ob.path, ob.gaps, mode(), ob.prot_none.join("\n"));
    }
    objs
}

fn summary(objs: &[MappedObject]) -> String {
    objs.iter()
        .map(|o| format!("{}: gaps {} ---p {}", Path::new(&o.path).file_name().unwrap().to_string_lossy(), o.gaps, o.prot_none.len()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `cat /proc/self/maps`, explicitly and as PT_INTERP.
#[test]
fn layout_cat_proc_self_maps() {
    let tmp = Tmp::new("layout_cat");
    let cat = Path::new("/usr/bin/cat");
    let copy = tmp.0.join("interp/cat");
    copy_with_interp(cat, &copy, short_guardld());
    let m = mode();
    let go = |c: &mut Command| {
        c.env_clear().env("LC_ALL", "C").env("GUARDLD_GLIBC", m).arg("/proc/self/maps");
        let o = run_input(c, None, TIMEOUT);
        o.assert_code(0);
        let maps = parse_maps(&o.stdout_str());
        (o, maps)
    };
    let (g, gmaps) = go(Command::new(GLIBC_LD).arg(cat));
    assert!(gmaps.iter().any(|v| v.path.ends_with("/ld-linux-x86-64.so.2")), "the detection: glibc's run maps its ld.so\n{}", g.describe());
    println!("glibc: {}", summary(&mapped_objects(&gmaps)));
    let (o, maps) = go(Command::new(guardld()).args(["--glibc", m]).arg(cat));
    println!("guardld explicit: {}", summary(&assert_guardld_layout(&format!("guardld --glibc {m} cat /proc/self/maps"), &o, &maps)));
    let (o, maps) = go(Command::new(&copy).arg0(cat));
    println!("guardld PT_INTERP: {}", summary(&assert_guardld_layout("cat (PT_INTERP guardld) /proc/self/maps", &o, &maps)));
}

/// testbins/glibc/maps_*.c: a program and three libraries, lld with 64 KiB
/// max-page-size (three gaps each). glibc's ld.so leaves each gap as a
/// `---p` VMA (the baseline; also proof the counting sees them); under
/// guardld there is none, and the program prints the same.
#[test]
fn layout_64k_libraries() {
    let dir = "glibc_native/maps";
    let d = out_dir(dir);
    for k in 1..=3 {
        let mut c = common::audit::glibc_lld64(dir, &format!("libglibcmaps{k}.so"))
            .source("glibc/maps_lib.c")
            .shared()
            .arg(format!("-DN={k}"))
            .arg(format!("-DM={}", k - 1));
        if k > 1 {
            c = c.arg(d.join(format!("libglibcmaps{}.so", k - 1)));
        }
        c.arg(format!("-Wl,-rpath,{}", d.display())).build();
    }
    let prog = common::audit::glibc_lld64(dir, "maps_main")
        .source("glibc/maps_main.c")
        .arg(d.join("libglibcmaps3.so"))
        .arg(format!("-Wl,-rpath,{}", d.display()))
        .build();
    let tmp = Tmp::new("layout_64k");
    let copy = tmp.0.join("interp/maps_main");
    copy_with_interp(&prog, &copy, short_guardld());
    let m = mode();
    let go = |c: &mut Command| {
        c.env_clear().env("LC_ALL", "C").env("GUARDLD_GLIBC", m);
        run_input(c, None, TIMEOUT)
    };
    let ours = |objs: &[MappedObject]| objs.iter().filter(|o| o.path.contains("/libglibcmaps")).count();
    for (way, reference, candidate) in [
        ("explicit", go(Command::new(GLIBC_LD).arg(&prog)), go(Command::new(guardld()).args(["--glibc", m]).arg(&prog))),
        ("PT_INTERP", go(&mut Command::new(&prog)), go(Command::new(&copy).arg0(&prog))),
    ] {
        reference.assert_code(0);
        let (ghead, gmaps) = split_maps(&reference);
        let gobjs = mapped_objects(&gmaps);
        assert_eq!(ours(&gobjs), 3, "{way}: glibc's maps lack the libraries\n{}", reference.describe());
        for ob in gobjs.iter().filter(|o| o.path.contains("/libglibcmaps")) {
            assert!(ob.gaps > 0 && ob.prot_none.len() == ob.gaps, "{way}: glibc's baseline: {} has {} gaps and these ---p VMAs:\n{}", ob.path, ob.gaps, ob.prot_none.join("\n"));
        }
        let (head, maps) = split_maps(&candidate);
        assert!(
            !candidate.timed_out && candidate.status == reference.status && head == ghead,
            "{way}: the program differs under guardld --glibc {m}\n--- glibc ---\n{}\n--- guardld ---\n{}",
            reference.describe(),
            candidate.describe()
        );
        let objs = assert_guardld_layout(&format!("{way} maps_main"), &candidate, &maps);
        assert_eq!(ours(&objs), 3, "{way}: guardld's maps lack the libraries\n{}", candidate.describe());
        println!("{way}: glibc: {}\n{way}: guardld: {}", summary(&gobjs), summary(&objs));
    }
}

/// Programs with neither PT_INTERP nor DT_NEEDED (static and static-pie,
/// glibc's own ldconfig among them) relocate themselves: glibc's ld.so
/// execs them when given one, and so must guardld (applying their RELR
/// relocations first made ldconfig crash). Explicit runs only (there is
/// no PT_INTERP to replace); stdout and exit status as under glibc.
#[test]
fn static_programs_are_executed() {
    let d = out_dir("glibc_native/static");
    let src = d.join("hello.c");
    std::fs::write(&src, "#include <stdio.h>\nint main(int c, char **v) { printf(\"static %s %d\\n\", v[c - 1], c); return 3; }\n").unwrap();
    let mut progs: Vec<(PathBuf, Vec<&str>)> = Vec::new();
    for (name, flag) in [("static_pie", "-static-pie"), ("static", "-static")] {
        let out = d.join(name);
        let o = Command::new("gcc").arg(flag).arg("-o").arg(&out).arg(&src).output().expect("run gcc");
        if o.status.success() {
            progs.push((out, vec!["a", "b"]));
        } else {
            println!("skipped: gcc {flag} failed (no static libc?): {}", String::from_utf8_lossy(&o.stderr));
        }
    }
    let ldconfig = PathBuf::from("/usr/sbin/ldconfig");
    if ldconfig.exists() && interp_of(&ldconfig).is_none() {
        progs.push((ldconfig, vec!["--version"]));
    } else {
        println!("skipped: /usr/sbin/ldconfig missing or not static");
    }
    for (prog, args) in progs {
        let go = |pre: &[&str], loader: &Path| {
            let mut c = Command::new(loader);
            c.env_clear().env("LC_ALL", "C").env("PATH", "/usr/bin:/bin").current_dir(&d).args(pre).arg(&prog).args(&args);
            run_input(&mut c, None, TIMEOUT)
        };
        let r = go(&[], Path::new(GLIBC_LD));
        let c = go(&["--glibc", mode()], guardld());
        println!("glibc_native static {}: glibc {} | guardld {}", prog.display(), how(&r), how(&c));
        assert!(!r.timed_out && r.status.success() || r.code() == Some(3), "{}: glibc's ld.so gave {}", prog.display(), how(&r));
        assert!(r.status == c.status && r.stdout == c.stdout, "{}: guardld differs\n--- glibc ---\n{}\n--- guardld ---\n{}\n{}", prog.display(), r.describe(), c.describe(), String::from_utf8_lossy(&c.stderr));
        // Listed (ldd's LD_TRACE_LOADED_OBJECTS), not run. (glibc's ld.so
        // dies of SIGSEGV listing a static non-PIE program: no oracle.)
        let mut c = Command::new(guardld());
        c.env_clear().env("LD_TRACE_LOADED_OBJECTS", "1").current_dir(&d).arg(&prog).args(&args);
        let l = run_input(&mut c, None, TIMEOUT);
        assert!(l.code() == Some(0) && !l.stdout_str().contains("static a") && !l.stdout_str().contains("ldconfig ("), "{}: listing ran it\n{}", prog.display(), l.describe());
    }
}

/// Valgrind (when installed) follows what guardld maps: a glibc program
/// run natively under `valgrind --tool=none` gives glibc's output. Its
/// debug-information reader asserted on segments mapped top-down; guardld
/// maps each object's segments in address order, as glibc does.
#[test]
fn runs_under_valgrind() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("skipped: valgrind is not installed");
        return;
    }
    let d = out_dir("glibc_native/valgrind");
    let go = |pre: &[&str]| {
        let mut c = Command::new("valgrind");
        c.env_clear().env("LC_ALL", "C").env("PATH", "/usr/bin:/bin").current_dir(&d);
        c.args(["--tool=none", "-q", "--error-exitcode=99"]).args(pre).args(["/usr/bin/sort", "-r", "/etc/shells"]);
        run_input(&mut c, None, Duration::from_secs(60))
    };
    let r = go(&[GLIBC_LD]);
    let g = go(&[guardld().to_str().unwrap(), "--glibc", mode()]);
    assert!(r.code() == Some(0), "valgrind on glibc's ld.so: {}", r.describe());
    assert!(g.status == r.status && g.stdout == r.stdout, "under valgrind guardld differs\n{}\n{}", g.describe(), String::from_utf8_lossy(&g.stderr));
}
