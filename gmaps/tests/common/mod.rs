//! Shared test support: builds the C helper (tests/helper/guarded.c) with gcc and runs it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

pub fn gmaps() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gmaps"))
}

pub fn run_gmaps(args: &[&str]) -> Output {
    gmaps().args(args).output().expect("run gmaps")
}

pub fn tmpdir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gmaps-tests");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The compiled helper, built once per test binary.
pub fn helper_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helper/guarded.c");
        // Built under a private name, then renamed into place: concurrent test runs never see
        // a half-written binary, and runs do not pile up copies.
        let out = tmpdir().join("guarded");
        let tmp = tmpdir().join(format!("guarded.{}.tmp", std::process::id()));
        let st = Command::new("gcc")
            .args(["-O1", "-Wall", "-o"])
            .arg(&tmp)
            .arg(&src)
            .status()
            .expect("gcc is needed to build the test helper");
        assert!(st.success(), "gcc failed building {}", src.display());
        std::fs::rename(&tmp, &out).unwrap();
        out
    })
}

/// A 5-page file for the helper to map, unique per call.
pub fn data_file(tag: &str) -> PathBuf {
    let ps = gmaps::page_size() as usize;
    let p = tmpdir().join(format!("data-{}-{tag}", std::process::id()));
    let mut bytes = vec![0u8; 5 * ps];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i / ps) as u8 + b'a';
    }
    std::fs::write(&p, bytes).unwrap();
    p
}

/// What the helper says it did: facts from the program, not from gmaps.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    pub page_size: u64,
    pub file: (u64, u64),
    pub file_path: String,
    pub anon: (u64, u64),
    pub guards: Vec<(u64, u64)>,
    pub protnone: (u64, u64),
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s, 16).unwrap()
}

/// Parses the helper's output lines up to "ready".
pub fn parse_facts<I: Iterator<Item = String>>(lines: I) -> Facts {
    let mut f = Facts::default();
    for line in lines {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.first().copied() {
            Some("page_size") => f.page_size = hex(w[1]),
            Some("file") => {
                f.file = (hex(w[1]), hex(w[2]));
                f.file_path = w[3].to_string();
            }
            Some("anon") => f.anon = (hex(w[1]), hex(w[2])),
            Some("guard") => f.guards.push((hex(w[1]), hex(w[2]))),
            Some("protnone") => f.protnone = (hex(w[1]), hex(w[2])),
            Some("ready") => return f,
            _ => {}
        }
    }
    panic!("helper ended before printing ready: {f:?}");
}

/// The running helper; killed and reaped on drop.
pub struct Helper {
    pub child: Child,
    pub facts: Facts,
    file: PathBuf,
}

impl Helper {
    pub fn start(tag: &str) -> Helper {
        let file = data_file(tag);
        let mut child = Command::new(helper_bin())
            .arg(&file)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn helper");
        let out = child.stdout.take().unwrap();
        let facts = parse_facts(BufReader::new(out).lines().map(|l| l.unwrap()));
        assert_eq!(facts.page_size, gmaps::page_size());
        Helper { child, facts, file }
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    /// The helper's /proc/PID/maps lines, read by the test itself.
    pub fn maps_lines(&self) -> Vec<String> {
        std::fs::read_to_string(format!("/proc/{}/maps", self.pid()))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

/// All guard runs `(start, end)` in a `--json` report, in address order, adjacent ones merged
/// (a guarded range may straddle two VMAs).
pub fn json_guard_runs(v: &serde_json::Value) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for vma in v["vmas"].as_array().unwrap() {
        for r in vma["runs"].as_array().unwrap() {
            if r["guard"].as_bool().unwrap() {
                let (s, e) = (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap());
                match out.last_mut() {
                    Some(l) if l.1 == s => l.1 = e,
                    _ => out.push((s, e)),
                }
            }
        }
    }
    out
}

pub fn sorted(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.sort();
    v
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
