//! Looking at a program while it is paused: test programs linked with testbins/rt stop
//! after start-up when GUARDLD_TEST_PAUSE=1 and say `rt: paused, pid N` on stderr. The test
//! then reads their /proc files through guard-abi, and kills them.

use super::{Outcome, RUN_TIMEOUT, read_to_end_thread, spawn_piped};
use guard_abi_host::{self as host, Vma};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Run `cmd` (GUARDLD_TEST_PAUSE=1 in its environment) until it pauses, call `look(pid)`,
/// kill it. Returns the outcome (killed by SIGKILL) and what `look` returned; panics if it
/// never paused within [`RUN_TIMEOUT`].
pub fn run_paused<T>(cmd: &mut Command, look: impl FnOnce(u32) -> T) -> (Outcome, T) {
    let start = Instant::now();
    let (command, mut child) = spawn_piped(cmd);
    let t_out = read_to_end_thread(child.stdout.take().unwrap());
    let err = child.stderr.take().unwrap();
    // stderr line by line, to see the pause as it happens.
    let (tx, rx) = mpsc::channel::<String>();
    let t_err = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut r = BufReader::new(err);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
                    all.extend_from_slice(&line);
                }
            }
        }
        all
    });
    let mut seen = None;
    let mut look = Some(look);
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => {
                if let Some(pid) = line.trim_end().strip_prefix("rt: paused, pid ") {
                    let pid: u32 = pid.parse().unwrap();
                    assert_eq!(pid, child.id(), "paused process is not the one started");
                    seen = look.take().map(|f| f(pid));
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if start.elapsed() <= RUN_TIMEOUT => {}
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let status = child.wait().expect("wait");
    let o = Outcome {
        command,
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
        timed_out: false,
        elapsed: start.elapsed(),
    };
    match seen {
        Some(s) => (o, s),
        None => panic!("the program never paused\n{}", o.describe()),
    }
}

/// What a test saw of a paused process: its maps (text for messages, and parsed), and with
/// [`Snapshot::with_pagemap`] the pagemap entry of every page of every VMA that is not huge.
pub struct Snapshot {
    pub maps_text: String,
    pub maps: Vec<Vma>,
    pub pagemap: BTreeMap<u64, u64>,
}

impl Snapshot {
    /// The maps only.
    pub fn maps(pid: u32) -> Snapshot {
        let (maps_text, maps) = host::read_maps_text(pid).expect("read maps");
        Snapshot {
            maps_text,
            maps,
            pagemap: BTreeMap::new(),
        }
    }

    /// The maps and the pagemap entries of every VMA below 2^47 and under 64 MiB.
    pub fn with_pagemap(pid: u32) -> Snapshot {
        let mut s = Snapshot::maps(pid);
        let ps = host::page_size();
        let pm = host::open_pagemap(pid).expect("open pagemap");
        for v in &s.maps {
            if v.end > 1 << 47 || v.size() > 64 << 20 {
                continue;
            }
            let entries = host::pagemap_entries(&pm, v.start, v.end, ps).expect("read pagemap");
            for (i, e) in entries.into_iter().enumerate() {
                s.pagemap.insert(v.start + i as u64 * ps, e);
            }
        }
        s
    }

    /// Load base of the object at `path`: start of its lowest VMA (its first PT_LOAD has
    /// p_vaddr 0 and p_offset 0).
    pub fn base_of(&self, path: &Path) -> u64 {
        let p = path.to_str().unwrap();
        host::base_of(&self.maps, p)
            .unwrap_or_else(|| panic!("{p} not in maps:\n{}", self.maps_text))
    }

    /// VMAs intersecting [a, b).
    pub fn vmas_in(&self, a: u64, b: u64) -> Vec<&Vma> {
        host::vmas_in(&self.maps, a, b).collect()
    }

    pub fn vma_at(&self, addr: u64) -> Option<&Vma> {
        host::vma_at(&self.maps, addr)
    }

    /// Pagemap bit 58 of the page at `addr` (taken [`Snapshot::with_pagemap`]).
    pub fn guarded(&self, addr: u64) -> bool {
        let e = self
            .pagemap
            .get(&addr)
            .unwrap_or_else(|| panic!("no pagemap entry for {addr:#x}"));
        guard_abi::is_guard_entry(*e)
    }
}
