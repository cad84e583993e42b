//! `--verify-max-map-count`: lower vm.max_map_count for a moment and check
//! that the predicted library limit holds: a program slightly over glibc's
//! limit fails under glibc's ld.so and loads under guardld.

use crate::measure::{Exit, Loader};
use serde::Serialize;
use std::path::Path;
use std::process::Stdio;

pub const SYSCTL: &str = "/proc/sys/vm/max_map_count";

pub fn read_max_map_count() -> Option<u64> {
    std::fs::read_to_string(SYSCTL).ok()?.trim().parse().ok()
}

#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
    pub loader: String,
    pub n: usize,
    /// Whether the prediction says this many libraries fit.
    pub predicted_to_load: bool,
    pub exit: Exit,
    pub loaded: bool,
    /// First line of stderr (the loader's error), if any.
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct LoaderModel {
    pub loader: String,
    /// VMAs of the 0-library program under this loader.
    pub baseline_vmas: u64,
    /// VMAs inside library spans per library, measured at `measured_n`.
    pub vmas_per_lib: f64,
    pub measured_n: usize,
    /// floor((max_map_count_set - baseline) / vmas_per_lib)
    pub predicted_limit_at_set: u64,
    /// The same at the original max_map_count.
    pub predicted_limit_at_original: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Verify {
    pub config: String,
    pub max_map_count_original: u64,
    pub max_map_count_set: u64,
    pub restored: bool,
    pub models: Vec<LoaderModel>,
    pub attempts: Vec<Attempt>,
    /// true when every attempt did what the prediction said.
    pub prediction_held: bool,
    pub summary: String,
}

pub fn predicted(limit: u64, baseline: u64, per_lib: f64) -> u64 {
    if per_lib <= 0.0 || limit <= baseline {
        return 0;
    }
    ((limit - baseline) as f64 / per_lib).floor() as u64
}

fn write_sysctl(v: u64) -> Result<(), String> {
    std::fs::write(SYSCTL, format!("{v}\n")).map_err(|e| format!("write {SYSCTL}: {e}"))?;
    match read_max_map_count() {
        Some(r) if r == v => Ok(()),
        r => Err(format!("{SYSCTL} reads {r:?} after writing {v}")),
    }
}

/// Restores the original value when dropped (also on an early return).
struct Restore {
    original: u64,
    done: bool,
}

impl Restore {
    fn restore(&mut self) -> Result<(), String> {
        self.done = true;
        write_sysctl(self.original)
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if !self.done {
            let _ = write_sysctl(self.original);
        }
    }
}

/// Block the signals a user sends to stop us while the sysctl is lowered,
/// so the restore cannot be skipped (children get the default mask back:
/// std's spawn resets it).
struct BlockSignals {
    old: libc::sigset_t,
}

impl BlockSignals {
    fn new() -> BlockSignals {
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
                libc::sigaddset(&mut set, s);
            }
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            BlockSignals { old }
        }
    }
}

impl Drop for BlockSignals {
    fn drop(&mut self) {
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
        }
    }
}

pub fn needs_root() -> Option<String> {
    if unsafe { libc::geteuid() } != 0 {
        return Some(format!("--verify-max-map-count needs root (to write {SYSCTL}); skipped"));
    }
    if std::fs::OpenOptions::new().write(true).open(SYSCTL).is_err() {
        return Some(format!("--verify-max-map-count: {SYSCTL} is not writable here (read-only /proc/sys?); skipped"));
    }
    None
}

fn attempt(loader: &Loader, program: &Path, dir: &Path, n: usize, predicted_to_load: bool) -> Attempt {
    let mut c = loader.command(program, dir);
    c.env("BENCH_MODE", "time").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let (exit, message) = match c.output() {
        Ok(o) => (
            Exit::from(o.status),
            String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or("").to_string(),
        ),
        Err(e) => (Exit { code: None, signal: None }, format!("spawn: {e}")),
    };
    let loaded = exit.ok();
    Attempt { loader: loader.name.clone(), n, predicted_to_load, exit, loaded, message }
}

/// `models[i]` goes with `loaders[i]`; the first is glibc. `build_main(n)`
/// makes sure `mainN` exists (called before the sysctl is touched).
pub fn verify(
    config: &str,
    dir: &Path,
    loaders: &[Loader],
    mut models: Vec<LoaderModel>,
    n_over: usize,
    build_main: &dyn Fn(usize) -> Result<std::path::PathBuf, String>,
) -> Result<Verify, String> {
    let original = read_max_map_count().ok_or("cannot read vm.max_map_count")?;
    let g = &models[0];
    // Lower the limit so glibc fits a few libraries fewer than n_over.
    let slack = (n_over / 50).max(2);
    let limit_libs = n_over.checked_sub(slack).filter(|&l| l > 0).ok_or("too few libraries to verify with")?;
    let set = g.baseline_vmas + (g.vmas_per_lib * limit_libs as f64).ceil() as u64;
    if set >= original {
        return Err(format!("the limit to test ({set}) is not below the current vm.max_map_count ({original})"));
    }
    for m in models.iter_mut() {
        m.predicted_limit_at_set = predicted(set, m.baseline_vmas, m.vmas_per_lib);
        m.predicted_limit_at_original = predicted(original, m.baseline_vmas, m.vmas_per_lib);
    }
    let g_limit = models[0].predicted_limit_at_set as usize;
    // Programs: glibc at its predicted limit (should load) and n_over
    // (should not); every other loader at n_over.
    let at_limit = build_main(g_limit)?;
    let over = build_main(n_over)?;

    let mut attempts = Vec::new();
    let restored;
    {
        let _sig = BlockSignals::new();
        let mut r = Restore { original, done: false };
        write_sysctl(set)?;
        attempts.push(attempt(&loaders[0], &at_limit, dir, g_limit, true));
        attempts.push(attempt(&loaders[0], &over, dir, n_over, (n_over as u64) <= models[0].predicted_limit_at_set));
        for (l, m) in loaders.iter().zip(&models).skip(1) {
            attempts.push(attempt(l, &over, dir, n_over, (n_over as u64) <= m.predicted_limit_at_set));
        }
        restored = r.restore().is_ok();
    }
    let held = attempts.iter().all(|a| a.loaded == a.predicted_to_load);
    let mut summary = format!(
        "vm.max_map_count {original} -> {set} (restored: {}): ",
        if restored { "yes" } else { "NO" }
    );
    for a in &attempts {
        summary += &format!(
            "{} with {} libs {} (predicted {}); ",
            a.loader,
            a.n,
            if a.loaded { "loaded".to_string() } else { format!("failed ({}: {})", a.exit.describe(), a.message) },
            if a.predicted_to_load { "load" } else { "fail" }
        );
    }
    summary += if held { "prediction held" } else { "prediction did NOT hold" };
    Ok(Verify {
        config: config.to_string(),
        max_map_count_original: original,
        max_map_count_set: set,
        restored,
        models,
        attempts,
        prediction_held: held,
        summary,
    })
}
