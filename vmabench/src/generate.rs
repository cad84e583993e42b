//! The generator: freestanding C for N shared libraries and a PIE main
//! program that NEEDs them all, built with gcc in lld or bfd layout at a
//! given max-page-size.
//!
//! Library `i` (`libvbI.so`, symbols `vbI_*`):
//! * 40 exported functions `vbI_fJ(long x)`; each bumps a .bss counter and
//!   returns `x + 40*i + J + vbI_data[J]` (`vbI_data[J] == J+1`, in .data);
//!   `vbI_f0` also adds `vb(I-1)_f0(0)` (a call into the previous library,
//!   resolved from the global scope: libraries have no DT_NEEDED, the main
//!   program NEEDs them all).
//! * `vbI_table`: a const table of pointers to the 40 functions (relocated,
//!   so it lands in .data.rel.ro, i.e. the RELRO segment).
//! * .data (`vbI_data`, 320 bytes) and .bss (`vbI_bss`, 8 KiB), so lld emits
//!   four PT_LOADs: R, RX, RW (RELRO), RW.
//!
//! `mainN` calls, for every library, one function directly and one through
//! the table, sums the results and compares with the sum computed here.
//! `_start` is our own and ignores %rdx (the rtld finalizer: glibc's
//! `_dl_fini` asserts for a libc-less program). `BENCH_MODE=stat`: prints
//! `ready sum=ok` and blocks reading stdin until EOF (vmabench inspects
//! /proc/PID meanwhile, then closes the pipe); if stdin is unusable it
//! sleeps ~10 s instead. A wrong sum prints `bad sum` and exits 1.
//!
//! Everything is linked with `-z now` so that every loader does the same
//! (eager) symbol binding: guardld has no lazy binding, and glibc's lazy
//! PLT would otherwise bind only the two functions per library main calls.
//!
//! A `-glibc` configuration (`lld-64k-glibc`) has the same libraries
//! (freestanding) and a main program linked with glibc's libc: built
//! without `-nostdlib -ffreestanding`, with a C `main` (glibc's crt1
//! `_start`), the same calls and sum check and the same `BENCH_MODE=stat`
//! behaviour through libc's getenv/write/read; it reads CLOCK_MONOTONIC as
//! main begins and in `BENCH_MODE=time` prints it (`main_ns=T`: vmabench's
//! time to main, start-up without the process's exit). Its tree is its own
//! directory (`target/vmabench/lld-64k-glibc`), its cache key also hashes
//! the main program's flags.
//!
//! A `-glibc-dlopen` configuration (`lld-64k-glibc-dlopen`, vmabench
//! `--dlopen`) shares that tree (same libraries, same key) and runs
//! `dlmainN` instead: a glibc program with no DT_NEEDED on the libraries
//! that dlopens `libvb0.so` .. `libvbN-1.so` in order (bare names, found
//! through its RUNPATH `$ORIGIN`) with RTLD_NOW | RTLD_GLOBAL (library I's
//! reference to `vb(I-1)_f0` binds to the global scope the earlier dlopens
//! built), then finds the same two functions per library with dlsym on the
//! library's handle, makes the same calls and checks the same sum. It reads
//! CLOCK_MONOTONIC before and after the dlopen loop and after the dlsym and
//! call loop, and in `BENCH_MODE=time` prints `dlopen_ns=D calls_ns=C` on
//! stdout (the whole loop, libc's dlopen included, not the loader's own
//! account).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub const FUNCS: usize = 40;
pub const BSS_LONGS: usize = 1024;

/// Bumped by hand whenever the generated C or the build flags change in a
/// way the hash of this file would not show (it always does: the hash covers
/// this source file itself).
const GENERATOR_SOURCE: &str = include_str!("generate.rs");

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    Lld,
    Bfd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Config {
    pub layout: Layout,
    /// max-page-size in KiB.
    pub page_kib: u32,
    /// The main program is linked with glibc's libc (name suffix `-glibc`);
    /// the libraries stay freestanding.
    pub glibc: bool,
    /// The (glibc) main program dlopens the libraries instead of NEEDing
    /// them (name suffix `-glibc-dlopen`; only with `glibc`).
    pub dlopen: bool,
}

impl Config {
    pub fn name(&self) -> String {
        let l = match self.layout {
            Layout::Lld => "lld",
            Layout::Bfd => "bfd",
        };
        format!(
            "{l}-{}k{}{}",
            self.page_kib,
            if self.glibc { "-glibc" } else { "" },
            if self.dlopen { "-dlopen" } else { "" }
        )
    }

    /// The generated tree's directory name: a dlopen configuration shares
    /// its glibc configuration's tree (same libraries, same cache key).
    pub fn dir_name(&self) -> String {
        Config { dlopen: false, ..*self }.name()
    }

    pub fn parse(s: &str) -> Option<Config> {
        let (s, dlopen) = match s.strip_suffix("-dlopen") {
            Some(base) => (base, true),
            None => (s, false),
        };
        let (s, glibc) = match s.strip_suffix("-glibc") {
            Some(base) => (base, true),
            None => (s, false),
        };
        let (l, p) = s.split_once('-')?;
        let layout = match l {
            "lld" => Layout::Lld,
            "bfd" => Layout::Bfd,
            _ => return None,
        };
        let page_kib: u32 = p.strip_suffix(['k', 'K'])?.parse().ok()?;
        if !page_kib.is_power_of_two() || page_kib < 4 {
            return None;
        }
        if dlopen && !glibc {
            return None;
        }
        Some(Config { layout, page_kib, glibc, dlopen })
    }

    pub fn all() -> Vec<Config> {
        let mut v = Vec::new();
        for layout in [Layout::Lld, Layout::Bfd] {
            for page_kib in [4, 16, 64] {
                v.push(Config { layout, page_kib, glibc: false, dlopen: false });
            }
        }
        v
    }

    /// Flags common to every compile+link of this configuration.
    fn flags(&self, lld_dir: &Path) -> Vec<String> {
        let mut f: Vec<String> = ["-nostdlib", "-ffreestanding", "-fno-stack-protector", "-O1", "-fPIC"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        match self.layout {
            Layout::Lld => {
                f.push("-B".into());
                f.push(lld_dir.display().to_string());
                f.push("-fuse-ld=lld".into());
            }
            Layout::Bfd => {
                f.push("-fuse-ld=bfd".into());
                f.push("-Wl,-z,separate-code".into());
            }
        }
        f.push(format!("-Wl,-z,max-page-size={}", self.page_kib * 1024));
        f.push("-Wl,-z,now".into());
        f.push("-Wl,-z,relro".into());
        f.push("-Wl,--enable-new-dtags".into());
        f.push("-Wl,-rpath,$ORIGIN".into());
        f
    }

    /// Flags of the main programs: the libraries' flags, or for a glibc
    /// configuration the same without `-nostdlib -ffreestanding` (gcc then
    /// links crt1, libc and libgcc as for any program).
    fn main_flags(&self, lld_dir: &Path) -> Vec<String> {
        let f = self.flags(lld_dir);
        if !self.glibc {
            return f;
        }
        f.into_iter().filter(|a| a != "-nostdlib" && a != "-ffreestanding").collect()
    }
}

pub fn lib_name(i: usize) -> String {
    format!("libvb{i}.so")
}

pub fn main_name(n: usize) -> String {
    format!("main{n}")
}

/// The main program of a dlopen configuration.
pub fn dlmain_name(n: usize) -> String {
    format!("dlmain{n}")
}

/// Value returned by `vbI_fJ(0)`.
pub fn value(i: usize, j: usize) -> i64 {
    let own = (i * FUNCS + j) as i64 + (j as i64 + 1);
    if j == 0 && i > 0 { own + value_f0_chain(i - 1) } else { own }
}

fn value_f0_chain(i: usize) -> i64 {
    // vbI_f0(0) = 40*I + 1 + vb(I-1)_f0(0): iterate (recursion depth = I).
    let mut v = 0i64;
    for k in 0..=i {
        v += (k * FUNCS) as i64 + 1;
    }
    v
}

/// Which function main calls directly, and which table entry, in library i.
pub fn main_calls(i: usize) -> (usize, usize) {
    (1 + i % (FUNCS - 1), (i * 7) % FUNCS)
}

pub fn expected_sum(n: usize) -> i64 {
    (0..n)
        .map(|i| {
            let (d, t) = main_calls(i);
            value(i, d) + value(i, t)
        })
        .sum()
}

pub fn lib_source(i: usize) -> String {
    let mut s = String::new();
    s.push_str("/* generated by vmabench: library ");
    let _ = writeln!(s, "{i} */\ntypedef long (*vb_fn)(long);");
    if i > 0 {
        let _ = writeln!(s, "extern long vb{}_f0(long);", i - 1);
    }
    s.push_str(&format!("long vb{i}_data[{FUNCS}] = {{"));
    for j in 0..FUNCS {
        let _ = write!(s, "{}{}", if j > 0 { "," } else { "" }, j + 1);
    }
    s.push_str("};\n");
    let _ = writeln!(s, "long vb{i}_bss[{BSS_LONGS}];");
    for j in 0..FUNCS {
        let base = i * FUNCS + j;
        let chain = if j == 0 && i > 0 { format!(" + vb{}_f0(0)", i - 1) } else { String::new() };
        let _ = writeln!(
            s,
            "long vb{i}_f{j}(long x) {{ vb{i}_bss[{}] += 1; return x + {base} + vb{i}_data[{j}]{chain}; }}",
            j * 16
        );
    }
    let _ = write!(s, "vb_fn const vb{i}_table[{FUNCS}] = {{");
    for j in 0..FUNCS {
        let _ = write!(s, "{}vb{i}_f{j}", if j > 0 { ", " } else { "" });
    }
    s.push_str("};\n");
    s
}

const MAIN_RUNTIME: &str = r#"
typedef long (*vb_fn)(long);
static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
static void out(const char *s) { long n = 0; while (s[n]) n++; sys3(1, 1, (long)s, n); }
static __attribute__((noreturn)) void die(long code) { for (;;) sys3(231, code, 0, 0); }
static int is_stat(char **envp) {
    static const char k[] = "BENCH_MODE=stat";
    for (; *envp; envp++) {
        const char *e = *envp; int i = 0;
        while (k[i] && e[i] == k[i]) i++;
        if (!k[i] && !e[i]) return 1;
    }
    return 0;
}
static long calls(void);
__attribute__((visibility("hidden"), used)) __attribute__((noreturn)) void vb_main(long *sp) {
    long argc = sp[0];
    char **envp = (char **)(sp + 1 + argc + 1);
    long sum = calls();
    if (sum != VB_EXPECTED) { out("bad sum\n"); die(1); }
    if (is_stat(envp)) {
        out("ready sum=ok\n");
        char c;
        long r;
        while ((r = sys3(0, 0, (long)&c, 1)) > 0) {}
        if (r < 0 && r != -4) {
            struct { long s, ns; } ts = { 10, 0 };
            sys3(35, (long)&ts, 0, 0);
        }
    }
    die(0);
}
__asm__(".text\n.globl _start\n.type _start,@function\n_start:\n"
        "\txor %ebp, %ebp\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall vb_main\n\thlt\n");
"#;

/// The C of `BENCH_MODE=stat` for the glibc main programs (in place of
/// their `/*STAT_WAIT*/` line): say so, then wait for vmabench to close
/// stdin (or about 10 s).
const STAT_WAIT: &str = r#"static void stat_wait(void) {
    out("ready sum=ok\n");
    char c;
    ssize_t r;
    while ((r = read(0, &c, 1)) > 0) {}
    if (r < 0 && errno != EINTR) {
        struct timespec ts = { 10, 0 };
        nanosleep(&ts, 0);
    }
}"#;

/// The glibc main program's runtime: a C `main` (glibc's `_start` calls
/// it), the same sum check and `BENCH_MODE=stat` protocol as MAIN_RUNTIME,
/// through libc.
const GLIBC_MAIN_RUNTIME: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
typedef long (*vb_fn)(long);
static void out(const char *s) { if (write(1, s, strlen(s)) < 0) {} }
/*STAT_WAIT*/
static long calls(void);
int main(void) {
    /* When the loader handed over to main: vmabench's to-main time. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long sum = calls();
    if (sum != VB_EXPECTED) { out("bad sum\n"); return 1; }
    const char *mode = getenv("BENCH_MODE");
    if (mode && strcmp(mode, "stat") == 0) {
        stat_wait();
    }
    if (mode && strcmp(mode, "time") == 0) {
        char buf[48];
        snprintf(buf, sizeof buf, "main_ns=%lld\n", (long long)t0.tv_sec * 1000000000LL + t0.tv_nsec);
        out(buf);
    }
    return 0;
}
"#;

/// The dlopen main program (`-glibc-dlopen`): dlopen, dlsym, the same calls
/// and sum, the same `BENCH_MODE=stat` protocol; `BENCH_MODE=time` prints
/// the dlopen loop's and the dlsym+call loop's CLOCK_MONOTONIC time.
pub fn dlopen_main_source(n: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "/* generated by vmabench: main program that dlopens {n} libraries, linked with glibc */");
    let _ = writeln!(s, "#define VB_EXPECTED {}L\n#define VB_N {n}", expected_sum(n));
    s.push_str(
        r#"#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
typedef long (*vb_fn)(long);
static void out(const char *s) { if (write(1, s, strlen(s)) < 0) {} }
struct vb_lib { const char *file, *fn, *table; int entry; };
"#,
    );
    s.push_str(STAT_WAIT);
    s.push('\n');
    // One entry more than N (a C array cannot be empty).
    s.push_str("static const struct vb_lib libs[VB_N + 1] = {\n");
    for i in 0..n {
        let (d, t) = main_calls(i);
        let _ = writeln!(s, "    {{ \"{}\", \"vb{i}_f{d}\", \"vb{i}_table\", {t} }},", lib_name(i));
    }
    s.push_str("    { 0, 0, 0, 0 },\n};\n");
    s.push_str(
        r#"static long ns(const struct timespec *a, const struct timespec *b) {
    return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}
int main(void) {
    static void *h[VB_N + 1];
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < VB_N; i++) {
        h[i] = dlopen(libs[i].file, RTLD_NOW | RTLD_GLOBAL);
        if (!h[i]) { out("dlopen failed: "); out(dlerror()); out("\n"); return 2; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long sum = 0;
    for (int i = 0; i < VB_N; i++) {
        vb_fn f = (vb_fn)dlsym(h[i], libs[i].fn);
        vb_fn const *t = (vb_fn const *)dlsym(h[i], libs[i].table);
        if (!f || !t) { out("dlsym failed: "); out(dlerror()); out("\n"); return 3; }
        sum += f(0);
        sum += t[libs[i].entry](0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    if (sum != VB_EXPECTED) { out("bad sum\n"); return 1; }
    const char *mode = getenv("BENCH_MODE");
    if (mode && strcmp(mode, "stat") == 0) {
        stat_wait();
    } else if (mode && strcmp(mode, "time") == 0) {
        char buf[96];
        snprintf(buf, sizeof buf, "dlopen_ns=%ld calls_ns=%ld\n", ns(&t0, &t1), ns(&t1, &t2));
        out(buf);
    }
    return 0;
}
"#,
    );
    s
}

/// The main program's C: freestanding (`_start`, raw system calls) or, for
/// a glibc configuration, a C `main` linked with libc; the same calls.
pub fn main_source_for(n: usize, glibc: bool) -> String {
    let mut s = String::new();
    if glibc {
        let _ = writeln!(s, "/* generated by vmabench: main program for {n} libraries, linked with glibc */");
    } else {
        let _ = writeln!(s, "/* generated by vmabench: main program for {n} libraries */");
    }
    let _ = writeln!(s, "#define VB_EXPECTED {}L", expected_sum(n));
    s.push_str(&if glibc { GLIBC_MAIN_RUNTIME } else { MAIN_RUNTIME }.replace("/*STAT_WAIT*/", STAT_WAIT));
    for i in 0..n {
        let (d, _) = main_calls(i);
        let _ = writeln!(s, "extern long vb{i}_f{d}(long); extern vb_fn const vb{i}_table[{FUNCS}];");
    }
    s.push_str("static long calls(void) {\n    long sum = 0;\n");
    for i in 0..n {
        let (d, t) = main_calls(i);
        let _ = writeln!(s, "    sum += vb{i}_f{d}(0); sum += vb{i}_table[{t}](0);");
    }
    s.push_str("    return sum;\n}\n");
    s
}

/// FNV-1a, stable across Rust versions (unlike DefaultHasher).
pub fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for &b in *p {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

pub struct Builder {
    pub root: PathBuf,
    pub lld_dir: PathBuf,
    pub jobs: usize,
}

/// A generated tree: `dir/libvbI.so`, `dir/mainN`.
#[derive(Clone, Debug)]
pub struct Tree {
    pub config: Config,
    pub dir: PathBuf,
}

impl Tree {
    pub fn lib(&self, i: usize) -> PathBuf {
        self.dir.join(lib_name(i))
    }
    /// `mainN`, or `dlmainN` for a dlopen configuration.
    pub fn main(&self, n: usize) -> PathBuf {
        self.dir.join(if self.config.dlopen { dlmain_name(n) } else { main_name(n) })
    }
}

pub fn rustc_lld_dir() -> Result<PathBuf, String> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("rustc --print sysroot: {e}"))?;
    if !out.status.success() {
        return Err("rustc --print sysroot failed".into());
    }
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let d = Path::new(&sysroot).join("lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld");
    if !d.join("ld.lld").exists() {
        return Err(format!("{} has no ld.lld (rust-lld missing?)", d.display()));
    }
    Ok(d)
}

enum Job {
    Lib(usize),
    Main(usize),
}

impl Builder {
    /// The cache key: this generator's source, the flags and the gcc version
    /// (for a glibc configuration also the main program's flags).
    fn key(&self, c: &Config) -> String {
        let gcc = Command::new("gcc")
            .arg("--version")
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default();
        let flags = c.flags(&self.lld_dir).join(" ");
        if c.glibc {
            let main = c.main_flags(&self.lld_dir).join(" ");
            return format!("{:016x}", fnv(&[GENERATOR_SOURCE.as_bytes(), flags.as_bytes(), b"glibc", main.as_bytes(), &gcc]));
        }
        format!("{:016x}", fnv(&[GENERATOR_SOURCE.as_bytes(), flags.as_bytes(), &gcc]))
    }

    /// Make sure `dir` holds libraries 0..max_lib and `mainN` for every n in
    /// `mains`. Anything already there under the same generator hash is
    /// reused. `tick` is called once per object built or found.
    pub fn ensure(
        &self,
        c: &Config,
        max_lib: usize,
        mains: &[usize],
        tick: &(dyn Fn(u64) + Sync),
    ) -> Result<Tree, String> {
        let dir = self.root.join(c.dir_name());
        let key = self.key(c);
        let stamp = dir.join(".generator-hash");
        let current = std::fs::read_to_string(&stamp).unwrap_or_default();
        if current.trim() != key {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| format!("remove {}: {e}", dir.display()))?;
            }
            std::fs::create_dir_all(dir.join("src")).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            std::fs::write(&stamp, format!("{key}\n")).map_err(|e| format!("write {}: {e}", stamp.display()))?;
        }
        let tree = Tree { config: *c, dir: dir.clone() };
        // Libraries first (mains link against them), then mains.
        let libs: Vec<Job> = (0..max_lib).map(Job::Lib).collect();
        self.run_pool(c, &tree, libs, tick)?;
        let mains: Vec<Job> = mains.iter().map(|&n| Job::Main(n)).collect();
        self.run_pool(c, &tree, mains, tick)?;
        Ok(tree)
    }

    fn run_pool(&self, c: &Config, tree: &Tree, jobs: Vec<Job>, tick: &(dyn Fn(u64) + Sync)) -> Result<(), String> {
        let next = AtomicUsize::new(0);
        let err: Mutex<Option<String>> = Mutex::new(None);
        let flags = c.flags(&self.lld_dir);
        let main_flags = c.main_flags(&self.lld_dir);
        std::thread::scope(|s| {
            for _ in 0..self.jobs.max(1) {
                s.spawn(|| {
                    loop {
                        if err.lock().unwrap().is_some() {
                            return;
                        }
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(k) else { return };
                        let f = if matches!(job, Job::Main(_)) { &main_flags } else { &flags };
                        if let Err(e) = self.build_one(tree, f, job) {
                            *err.lock().unwrap() = Some(e);
                            return;
                        }
                        tick(1);
                    }
                });
            }
        });
        match err.into_inner().unwrap() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn build_one(&self, tree: &Tree, flags: &[String], job: &Job) -> Result<(), String> {
        let (out, src_name, source, extra): (PathBuf, String, String, Vec<String>) = match *job {
            Job::Lib(i) => (
                tree.lib(i),
                format!("vb{i}.c"),
                lib_source(i),
                vec!["-shared".into(), format!("-Wl,-soname,{}", lib_name(i))],
            ),
            Job::Main(n) if tree.config.dlopen => {
                // No DT_NEEDED on the libraries: it dlopens them.
                (tree.main(n), format!("{}.c", dlmain_name(n)), dlopen_main_source(n), vec!["-pie".to_string()])
            }
            Job::Main(n) => {
                let mut e = vec!["-pie".to_string(), "-L".into(), tree.dir.display().to_string()];
                // Linked with explicit paths so the driver does no search.
                for i in 0..n {
                    e.push(format!("-l:{}", lib_name(i)));
                }
                (tree.main(n), format!("main{n}.c"), main_source_for(n, tree.config.glibc), e)
            }
        };
        if out.exists() {
            return Ok(());
        }
        let src = tree.dir.join("src").join(&src_name);
        std::fs::write(&src, &source).map_err(|e| format!("write {}: {e}", src.display()))?;
        let tmp = out.with_extension(format!("tmp{}", std::process::id()));
        let mut cmd = Command::new("gcc");
        cmd.args(flags).arg("-o").arg(&tmp).arg(&src);
        // Libraries after the source: with -l: they are searched in order.
        cmd.args(&extra);
        let o = cmd.output().map_err(|e| format!("gcc: {e}"))?;
        if !o.status.success() {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!(
                "building {} failed: {:?}\n{}",
                out.display(),
                cmd,
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        std::fs::rename(&tmp, &out).map_err(|e| format!("rename {}: {e}", out.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums() {
        assert_eq!(value(0, 0), 1);
        assert_eq!(value(0, 3), 3 + 4);
        assert_eq!(value(1, 0), 40 + 1 + 1);
        assert_eq!(value(2, 0), 80 + 1 + 42);
        assert_eq!(expected_sum(1), value(0, 1) + value(0, 0));
    }

    #[test]
    fn config_names() {
        for c in Config::all() {
            assert!(!c.glibc);
            assert_eq!(Config::parse(&c.name()), Some(c));
            let g = Config { glibc: true, ..c };
            assert_eq!(g.name(), format!("{}-glibc", c.name()));
            assert_eq!(Config::parse(&g.name()), Some(g));
            let d = Config { dlopen: true, ..g };
            assert_eq!(d.name(), format!("{}-glibc-dlopen", c.name()));
            assert_eq!(Config::parse(&d.name()), Some(d));
            // The dlopen configuration shares the glibc one's tree.
            assert_eq!(d.dir_name(), g.name());
            assert_eq!(g.dir_name(), g.name());
            assert_eq!(c.dir_name(), c.name());
        }
        assert_eq!(Config::parse("lld-64k"), Some(Config { layout: Layout::Lld, page_kib: 64, glibc: false, dlopen: false }));
        assert_eq!(Config::parse("lld-64k-glibc"), Some(Config { layout: Layout::Lld, page_kib: 64, glibc: true, dlopen: false }));
        assert_eq!(Config::parse("lld-64k-glibc-dlopen"), Some(Config { layout: Layout::Lld, page_kib: 64, glibc: true, dlopen: true }));
        // dlopen needs a glibc main program.
        assert_eq!(Config::parse("lld-64k-dlopen"), None);
        assert_eq!(Config::parse("lld-64k-dlopen-glibc"), None);
        assert_eq!(Config::parse("lld-3k"), None);
        assert_eq!(Config::parse("lld-3k-glibc"), None);
        assert_eq!(Config::parse("lld-64k-musl"), None);
        assert_eq!(Config::parse("glibc"), None);
        assert_eq!(Config::parse("lld-64k-glibc-glibc"), None);
    }

    #[test]
    fn glibc_flags_and_keys() {
        let d = Path::new("/lld");
        let c = Config { layout: Layout::Lld, page_kib: 64, glibc: false, dlopen: false };
        let g = Config { glibc: true, ..c };
        let dl = Config { dlopen: true, ..g };
        // Libraries are built alike; only the glibc main drops the
        // freestanding flags.
        assert_eq!(c.flags(d), g.flags(d));
        assert_eq!(c.main_flags(d), c.flags(d));
        let gm = g.main_flags(d);
        assert!(!gm.iter().any(|f| f == "-nostdlib" || f == "-ffreestanding"), "{gm:?}");
        assert!(gm.iter().any(|f| f == "-Wl,-z,max-page-size=65536"), "{gm:?}");
        let b = Builder { root: PathBuf::from("/nonexistent"), lld_dir: d.to_path_buf(), jobs: 1 };
        assert_ne!(b.key(&c), b.key(&g));
        assert_ne!(c.name(), g.name());
        // dlopen mains sit in the glibc tree, under its key.
        assert_eq!(b.key(&dl), b.key(&g));
        assert_eq!(dl.main_flags(d), g.main_flags(d));
    }

    #[test]
    fn glibc_main_source() {
        let free = main_source_for(3, false);
        let glibc = main_source_for(3, true);
        assert!(free.contains("_start") && !free.contains("int main("));
        assert!(glibc.contains("int main(") && !glibc.contains("_start") && !glibc.contains("syscall"));
        let want = format!("#define VB_EXPECTED {}L", expected_sum(3));
        assert!(free.contains(&want) && glibc.contains(&want));
        assert!(glibc.contains("\"ready sum=ok\\n\"") && glibc.contains("\"stat\""));
        // The same calls, in the same order.
        let calls = |s: &str| s[s.find("static long calls(void) {").unwrap()..].to_string();
        assert_eq!(calls(&free), calls(&glibc));
    }

    #[test]
    fn dlopen_main_source_calls() {
        let src = dlopen_main_source(3);
        assert!(src.contains(&format!("#define VB_EXPECTED {}L", expected_sum(3))), "{src}");
        assert!(src.contains("RTLD_NOW | RTLD_GLOBAL") && src.contains("CLOCK_MONOTONIC") && src.contains("dlopen_ns="), "{src}");
        // The same functions and table entries as the NEEDing program calls.
        for i in 0..3 {
            let (d, t) = main_calls(i);
            let entry = format!("{{ \"libvb{i}.so\", \"vb{i}_f{d}\", \"vb{i}_table\", {t} }},");
            assert!(src.contains(&entry), "{entry}\n{src}");
        }
        // No extern references to the libraries: nothing for the linker to NEED.
        assert!(!src.contains("extern long vb"), "{src}");
        let empty = dlopen_main_source(0);
        assert!(empty.contains("libs[VB_N + 1]") && empty.contains("#define VB_N 0"), "{empty}");
    }
}
