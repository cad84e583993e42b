//! gmaps: /proc/PID/maps and pmap, guard-aware. See `gmaps --help` and README.md.

use clap::{Parser, ValueEnum};
use gmaps::{Error, MethodChoice, Options, Report};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MethodArg {
    /// PAGEMAP_SCAN if the probe sees guards with it, else pagemap bit 58.
    Auto,
    /// PAGEMAP_SCAN ioctl with PAGE_IS_GUARD (Linux 6.16+) only.
    Scan,
    /// /proc/PID/pagemap entries, bit 58 PM_GUARD_REGION (Linux 6.15+) only.
    Pagemap,
}

/// /proc/PID/maps and pmap that show guard regions.
///
/// Guard regions (madvise MADV_GUARD_INSTALL) fault on access but create no VMA, so
/// /proc/PID/maps cannot show them. gmaps prints each VMA split into runs of guarded and
/// unguarded pages: a guarded run has perms `----` and a `[guard]` tag at the end of the line.
///
/// `gmaps -- PROGRAM ARGS` runs PROGRAM (under the loader, see --loader) with
/// GUARDLD_TEST_PAUSE=1 in its environment, waits until its /proc/PID/maps has not changed for
/// --settle-ms (or --timeout-ms passed), snapshots it and kills it. It works best with programs
/// that stay alive after loading (sleep, pause, or honour GUARDLD_TEST_PAUSE); a program that
/// exits first is an error. The program's stdout and stderr go to gmaps's stderr.
#[derive(Debug, Parser)]
#[command(name = "gmaps", version)]
struct Cli {
    /// Process to inspect.
    #[arg(
        value_name = "PID",
        required_unless_present = "command",
        conflicts_with = "command"
    )]
    pid: Option<String>,

    /// Print the structured result (VMAs with their runs, and the summary) as JSON.
    #[arg(long)]
    json: bool,

    /// Print per-file totals (VMAs, PROT_NONE VMAs, guard ranges, guard pages, bytes) instead of
    /// the maps lines.
    #[arg(long)]
    summary: bool,

    /// Name the PT_LOAD segment (or gap between segments) each run of an ELF file mapping
    /// belongs to, in parentheses after the path.
    #[arg(long, short = 's')]
    segments: bool,

    /// How to find guard pages.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    method: MethodArg,

    /// With `-- PROGRAM`: the loader to run it under, or `none` to run it directly. Default: the
    /// `guardld` binary next to gmaps's own executable.
    #[arg(long, value_name = "PATH|none")]
    loader: Option<String>,

    /// With `-- PROGRAM`: how long its maps must stay unchanged before the snapshot.
    #[arg(long, default_value_t = 50, value_name = "MS")]
    settle_ms: u64,

    /// With `-- PROGRAM`: snapshot after this long even if its maps keep changing.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    timeout_ms: u64,

    /// Program and arguments to run and snapshot (after `--`).
    #[arg(last = true, value_name = "PROGRAM ARGS")]
    command: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("gmaps: {msg}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    let opts = Options {
        method: match cli.method {
            MethodArg::Auto => MethodChoice::Auto,
            MethodArg::Scan => MethodChoice::Scan,
            MethodArg::Pagemap => MethodChoice::Pagemap,
        },
        segments: true,
    };
    let report = if let Some(pid) = &cli.pid {
        let pid: i32 = match pid.parse() {
            Ok(p) if p > 0 => p,
            _ => return Err(format!("{pid:?} is not a process id")),
        };
        gmaps::snapshot(pid, opts).map_err(|e| e.to_string())?
    } else {
        run_program(cli, opts)?
    };
    let out = if cli.json {
        let mut s = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        s.push('\n');
        s
    } else if cli.summary {
        gmaps::format_summary(&report)
    } else {
        gmaps::format_maps(&report, cli.segments)
    };
    let mut so = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = so.write_all(out.as_bytes()).and_then(|_| so.flush());
    Ok(())
}

/// Kills and reaps the child on every path out of `run_program`.
struct Reaper(Child);
impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_program(cli: &Cli, opts: Options) -> Result<Report, String> {
    let program = &cli.command[0];
    let mut cmd = match cli.loader.as_deref() {
        Some("none") => Command::new(program),
        other => {
            let loader = match other {
                Some(p) => PathBuf::from(p),
                None => std::env::current_exe()
                    .map_err(|e| format!("cannot find own executable: {e}"))?
                    .with_file_name("guardld"),
            };
            if !loader.is_file() {
                return Err(format!(
                    "loader {} not found (build it, or pass --loader PATH, or --loader none to run \
                     the program directly)",
                    loader.display()
                ));
            }
            let mut c = Command::new(loader);
            c.arg(program);
            c
        }
    };
    cmd.args(&cli.command[1..]);
    if std::env::var_os("GUARDLD_TEST_PAUSE").is_none() {
        cmd.env("GUARDLD_TEST_PAUSE", "1");
    }
    let err_fd = |what| {
        std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map(Stdio::from)
            .map_err(|e| format!("dup stderr for {what}: {e}"))
    };
    cmd.stdin(Stdio::null())
        .stdout(err_fd("stdout")?)
        .stderr(err_fd("stderr")?);
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let mut child = Reaper(child);
    let pid = child.0.id() as i32;

    let settle = Duration::from_millis(cli.settle_ms);
    let deadline = Instant::now() + Duration::from_millis(cli.timeout_ms);
    let mut last = String::new();
    let mut stable_since = Instant::now();
    loop {
        if let Some(st) = child.0.try_wait().map_err(|e| e.to_string())? {
            return Err(format!(
                "{program} exited ({st}) before it could be snapshotted; `gmaps -- PROGRAM` needs a \
                 program that stays alive after loading (e.g. one that pauses when \
                 GUARDLD_TEST_PAUSE=1)"
            ));
        }
        let now = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
        let t = Instant::now();
        if now != last || now.is_empty() {
            last = now;
            stable_since = t;
        } else if t - stable_since >= settle {
            break;
        }
        if t >= deadline {
            eprintln!(
                "gmaps: warning: maps of {program} (pid {pid}) still changing after {} ms; snapshot anyway",
                cli.timeout_ms
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let rep = gmaps::snapshot(pid, opts).map_err(|e| match e {
        Error::NoAddressSpace(_) => format!("{program} exited before it could be snapshotted"),
        e => e.to_string(),
    })?;
    drop(child);
    Ok(rep)
}
