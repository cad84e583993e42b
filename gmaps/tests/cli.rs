//! End-to-end tests of the `gmaps` binary against a C helper whose guards are known facts.
mod common;

use common::*;
use serde_json::Value;
use std::os::unix::process::CommandExt;

fn json_of(args: &[&str]) -> Value {
    let o = run_gmaps(args);
    assert!(o.status.success(), "gmaps {args:?} failed: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("gmaps --json prints JSON")
}

fn find_vma(v: &Value, start: u64, end: u64) -> &Value {
    v["vmas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["start"].as_u64().unwrap() <= start && end <= m["end"].as_u64().unwrap())
        .unwrap_or_else(|| panic!("no VMA covers {start:x}-{end:x}"))
}

/// `gmaps PID --json`: the guard runs are exactly the pages the helper guarded; the VMAs are
/// exactly the lines of /proc/PID/maps; the PROT_NONE VMA is PROT_NONE and not a guard.
#[test]
fn json_reports_exactly_the_guarded_pages() {
    let h = Helper::start("json");
    let f = &h.facts;
    let ps = f.page_size;
    let v = json_of(&[&h.pid().to_string(), "--json"]);

    assert_eq!(v["pid"].as_u64().unwrap(), h.pid() as u64);
    assert_eq!(v["page_size"].as_u64().unwrap(), ps);
    assert_eq!(
        v["method"], "pagemap_scan",
        "6.16+ kernel: {}",
        v["scan_unavailable"]
    );

    // Guards: the whole process has exactly the helper's guards, no more, no less.
    assert_eq!(json_guard_runs(&v), sorted(f.guards.clone()));

    // VMAs: one per /proc/PID/maps line, same ranges and perms, in order.
    let lines = h.maps_lines();
    let vmas = v["vmas"].as_array().unwrap();
    assert_eq!(vmas.len(), lines.len(), "VMA count == maps line count");
    for (m, l) in vmas.iter().zip(&lines) {
        let e = guard_abi::parse_maps_line(l.as_bytes()).unwrap();
        let perms = e.perms.to_string();
        assert_eq!(m["start"].as_u64().unwrap(), e.start, "{l}");
        assert_eq!(m["end"].as_u64().unwrap(), e.end, "{l}");
        assert_eq!(m["perms"].as_str().unwrap(), perms, "{l}");
        assert_eq!(
            m["prot_none"].as_bool().unwrap(),
            e.perms.is_prot_none(),
            "{l}"
        );
        // Runs tile the VMA exactly, page-aligned, alternating guard / not guard.
        let runs = m["runs"].as_array().unwrap();
        let mut cur = e.start;
        let mut prev_guard: Option<bool> = None;
        let mut gp = 0;
        for r in runs {
            let (s, en, g) = (
                r["start"].as_u64().unwrap(),
                r["end"].as_u64().unwrap(),
                r["guard"].as_bool().unwrap(),
            );
            assert_eq!(s, cur, "{l}: runs must be contiguous");
            assert!(en > s && s % ps == 0 && en % ps == 0);
            assert_eq!(r["pages"].as_u64().unwrap(), (en - s) / ps);
            let off = if e.inode != 0 {
                e.offset + (s - e.start)
            } else {
                e.offset
            };
            assert_eq!(r["offset"].as_u64().unwrap(), off, "{l}");
            assert_eq!(
                r["perms"].as_str().unwrap(),
                if g { "----" } else { perms.as_str() }
            );
            assert_ne!(prev_guard, Some(g), "{l}: adjacent runs must differ");
            prev_guard = Some(g);
            if g {
                gp += (en - s) / ps;
            }
            cur = en;
        }
        assert_eq!(cur, e.end, "{l}: runs must cover the VMA");
        assert_eq!(m["guard_pages"].as_u64().unwrap(), gp);
    }

    // The file VMA: 5 pages, guards on pages 1 and 3, with file offsets.
    let fv = find_vma(&v, f.file.0, f.file.1);
    assert_eq!(
        (fv["start"].as_u64().unwrap(), fv["end"].as_u64().unwrap()),
        f.file
    );
    assert_eq!(fv["path"].as_str().unwrap(), f.file_path);
    assert_eq!(fv["perms"], "r--p");
    let runs: Vec<(u64, u64, bool, u64)> = fv["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["start"].as_u64().unwrap(),
                r["end"].as_u64().unwrap(),
                r["guard"].as_bool().unwrap(),
                r["offset"].as_u64().unwrap(),
            )
        })
        .collect();
    let b = f.file.0;
    assert_eq!(
        runs,
        vec![
            (b, b + ps, false, 0),
            (b + ps, b + 2 * ps, true, ps),
            (b + 2 * ps, b + 3 * ps, false, 2 * ps),
            (b + 3 * ps, b + 4 * ps, true, 3 * ps),
            (b + 4 * ps, b + 5 * ps, false, 4 * ps),
        ]
    );

    // The PROT_NONE VMA: reported as ---p, prot_none, and holds no guard.
    let pn = find_vma(&v, f.protnone.0, f.protnone.1);
    assert_eq!(pn["perms"], "---p");
    assert_eq!(pn["prot_none"], true);
    assert_eq!(pn["guard_pages"], 0);
    assert!(
        pn["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["guard"] == false)
    );

    // smaps `gu`: where the kernel prints it, set on the guarded VMAs and not on the PROT_NONE one.
    if v["smaps_gu_supported"] == true {
        assert_eq!(fv["smaps_gu"], true);
        assert_eq!(find_vma(&v, f.anon.0, f.anon.1)["smaps_gu"], true);
        assert_eq!(pn["smaps_gu"], false);
    } else {
        eprintln!("note: this kernel does not print the smaps `gu` VmFlag; not checked");
    }

    // Summary totals agree with the VMAs.
    let t = &v["summary"]["total"];
    assert_eq!(t["vmas"].as_u64().unwrap(), lines.len() as u64);
    assert_eq!(t["guard_ranges"], 3);
    assert_eq!(t["guard_pages"], 3);
}

/// Text output: one maps-style line per run; guard lines have perms `----` and end in `[guard]`,
/// and are exactly the helper's guards. Non-guard lines carry the VMA's own perms.
#[test]
fn text_output_marks_guard_runs() {
    let h = Helper::start("text");
    let f = &h.facts;
    let o = run_gmaps(&[&h.pid().to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut guards = Vec::new();
    let mut saw_protnone = false;
    for line in out.lines() {
        let perms = line.split(' ').nth(1).expect(line);
        // Guard runs print perms `----`, which no kernel line has: parse them as `---p`.
        let kernel_form = line
            .trim_end_matches(" [guard]")
            .replacen(" ---- ", " ---p ", 1);
        let e = guard_abi::parse_maps_line(kernel_form.as_bytes()).expect(line);
        if line.ends_with(" [guard]") {
            assert_eq!(perms, "----", "{line}");
            guards.push((e.start, e.end));
        } else {
            assert_ne!(perms, "----", "{line}");
            assert!(!line.contains("[guard]"));
        }
        if e.start <= f.protnone.0 && f.protnone.1 <= e.end {
            assert_eq!(perms, "---p", "{line}");
            assert!(
                !line.ends_with("[guard]"),
                "PROT_NONE is not a guard: {line}"
            );
            saw_protnone = true;
        }
    }
    assert!(saw_protnone);
    // Every VMA without guards prints exactly as its /proc/PID/maps line.
    let ours: std::collections::HashSet<&str> = out.lines().collect();
    let mut unguarded = 0;
    for l in h.maps_lines() {
        let e = guard_abi::parse_maps_line(l.as_bytes()).unwrap();
        if !f.guards.iter().any(|g| g.0 < e.end && e.start < g.1) {
            assert!(
                ours.contains(l.as_str()),
                "maps line not reproduced verbatim: {l:?}"
            );
            unguarded += 1;
        }
    }
    assert!(unguarded > 5);
    assert_eq!(sorted(guards), sorted(f.guards.clone()));
    // The file mapping prints as 5 lines: ok, guard, ok, guard, ok.
    let file_lines: Vec<&str> = out
        .lines()
        .filter(|l| l.ends_with(&f.file_path) || l.contains(&format!("{} [guard]", f.file_path)))
        .collect();
    assert_eq!(file_lines.len(), 5, "{file_lines:#?}");
    let tags: Vec<bool> = file_lines.iter().map(|l| l.ends_with("[guard]")).collect();
    assert_eq!(tags, vec![false, true, false, true, false]);
    // -s names segments of ELF files; the helper's own executable is one.
    let o = run_gmaps(&[&h.pid().to_string(), "-s"]);
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.contains("gmaps-tests/guarded ") && l.contains("(PT_LOAD#0)")),
        "{}",
        stdout(&o)
    );
}

/// `--summary`: the helper's data file has 1 VMA, 2 guard ranges, 2 guard pages, 5 pages of
/// bytes; totals: VMAs == maps lines, PROT_NONE VMAs == `---` lines of maps (counted here).
#[test]
fn summary_counts_per_file_and_totals() {
    let h = Helper::start("summary");
    let f = &h.facts;
    let o = run_gmaps(&[&h.pid().to_string(), "--summary"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let row = |name: &str| -> Vec<u64> {
        let l = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row {name} in\n{out}"));
        l.split_whitespace()
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect()
    };
    let lines = h.maps_lines();
    let prot_none = lines
        .iter()
        .filter(|l| {
            guard_abi::parse_maps_line(l.as_bytes())
                .unwrap()
                .perms
                .is_prot_none()
        })
        .count() as u64;
    assert!(prot_none >= 1);
    // columns: VMAS ---p GUARDS GUARD_PAGES BYTES
    assert_eq!(row(&f.file_path), vec![1, 0, 2, 2, 5 * f.page_size]);
    let total = row("total");
    assert_eq!(total[0], lines.len() as u64);
    assert_eq!(total[1], prot_none);
    assert_eq!(total[2], 3);
    assert_eq!(total[3], 3);
    assert!(out.contains("PAGEMAP_SCAN"), "{out}");
}

/// The pagemap bit-58 path finds the same guards as PAGEMAP_SCAN (the fallback is not dead code).
#[test]
fn pagemap_fallback_agrees_with_scan() {
    let h = Helper::start("fallback");
    let pid = h.pid().to_string();
    let a = json_of(&[&pid, "--json", "--method", "scan"]);
    let b = json_of(&[&pid, "--json", "--method", "pagemap"]);
    assert_eq!(a["method"], "pagemap_scan");
    assert_eq!(b["method"], "pagemap_bit58");
    let strip = |v: &Value| -> Vec<Value> {
        v["vmas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let mut m = m.clone();
                m.as_object_mut().unwrap().remove("guard_source").unwrap();
                m
            })
            .collect()
    };
    let (va, vb) = (strip(&a), strip(&b));
    assert_eq!(va.len(), vb.len());
    for (x, y) in va.iter().zip(&vb) {
        assert_eq!(x, y, "VMA differs between methods");
    }
    for (m, want) in [(&a, "pagemap_scan"), (&b, "pagemap_bit58")] {
        for v in m["vmas"].as_array().unwrap() {
            let src = v["guard_source"].as_str().unwrap();
            assert!(
                src == want || (src == "none" && v["path"] == "[vsyscall]"),
                "{v}"
            );
        }
    }
    assert_eq!(json_guard_runs(&b), sorted(h.facts.guards.clone()));
}

/// `gmaps --loader none -- PROGRAM`: runs it, snapshots once maps settle, kills it. The
/// program's stdout goes to gmaps's stderr, so the facts come from there.
#[test]
fn program_mode_runs_snapshots_and_kills() {
    let file = data_file("program");
    let o = run_gmaps(&[
        "--json",
        "--loader",
        "none",
        "--",
        helper_bin().to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let _ = std::fs::remove_file(&file);
    let facts = parse_facts(stderr(&o).lines().map(str::to_string));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json_guard_runs(&v), sorted(facts.guards.clone()));
    let pid = v["pid"].as_u64().unwrap();
    // gmaps killed and reaped it: the pid is gone (or reused by something else).
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&cmdline).contains("gmaps-tests/guarded"),
        "child {pid} still alive"
    );
}

#[test]
fn program_that_exits_is_an_error() {
    let o = run_gmaps(&["--loader", "none", "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("gmaps: /bin/true exited"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_loader_is_an_error() {
    let o = run_gmaps(&["--loader", "/nonexistent/guardld", "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("loader /nonexistent/guardld not found"),
        "{}",
        stderr(&o)
    );
}

/// A pid with no /proc entry: exit 1 and exactly the documented message.
#[test]
fn missing_pid() {
    let max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let pid = (1..max)
        .rev()
        .find(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        .unwrap();
    let o = run_gmaps(&[&pid.to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), format!("gmaps: pid {pid}: no such process\n"));
    assert!(o.stdout.is_empty());
    let o = run_gmaps(&["not-a-pid"]);
    assert_eq!(o.status.code(), Some(1));
}

/// Without ptrace-read access to the target: exit 1 and a permission-denied message. As root,
/// gmaps is run as uid/gid 65534 against a root-owned helper; otherwise against pid 1 when it
/// belongs to someone else. Skipped (with a note) when neither is possible.
#[test]
fn permission_denied() {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let h;
    let (mut cmd, target) = if uid == 0 {
        h = Helper::start("perm");
        let mut c = gmaps();
        c.uid(65534).gid(65534);
        (c, h.pid().to_string())
    } else {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata("/proc/1") {
            Ok(m) if m.uid() != uid => (gmaps(), "1".to_string()),
            _ => {
                eprintln!("note: permission_denied not testable here (not root, pid 1 is ours)");
                return;
            }
        }
    };
    let o = match cmd.arg(&target).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("note: permission_denied not testable: cannot run gmaps as uid 65534: {e}");
            return;
        }
    };
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("gmaps: pid {target}: permission denied")),
        "{err}"
    );
    assert!(err.contains("ptrace"), "{err}");
}
