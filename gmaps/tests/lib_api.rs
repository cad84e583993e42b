//! Tests of the library API on this test process's own address space.

use gmaps::{Method, MethodChoice, Options, Run};

const MADV_GUARD_INSTALL: i32 = guard_abi::MADV_GUARD_INSTALL as i32;
const MADV_GUARD_REMOVE: i32 = guard_abi::MADV_GUARD_REMOVE as i32;

struct Map(*mut libc::c_void, usize);
impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: unmapping a mapping this test created.
        unsafe { libc::munmap(self.0, self.1) };
    }
}

fn guard_runs_in(rep: &gmaps::Report, start: u64, end: u64) -> Vec<(u64, u64)> {
    rep.vmas
        .iter()
        .flat_map(|v| v.runs.iter())
        .filter(|r: &&Run| r.guard && r.start < end && start < r.end)
        .map(|r| (r.start, r.end))
        .collect()
}

/// snapshot() of our own pid sees a 2-page guard we install (as one run), with both methods, and
/// stops seeing it after MADV_GUARD_REMOVE. The VMA itself stays one VMA throughout.
#[test]
fn snapshot_of_self_sees_install_and_remove() {
    let ps = gmaps::page_size();
    let len = 6 * ps as usize;
    // SAFETY: a fresh anonymous mapping, unmapped by Map's drop.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    let _m = Map(p, len);
    let b = p as u64;
    // SAFETY: our mapping.
    assert_eq!(
        unsafe { libc::madvise((b + 2 * ps) as *mut _, 2 * ps as usize, MADV_GUARD_INSTALL) },
        0
    );

    let pid = std::process::id() as i32;
    for (choice, method) in [
        (MethodChoice::Scan, Method::PagemapScan),
        (MethodChoice::Pagemap, Method::PagemapBit58),
    ] {
        let rep = gmaps::snapshot(
            pid,
            Options {
                method: choice,
                segments: true,
            },
        )
        .unwrap();
        assert_eq!(rep.method, method);
        assert_eq!(
            guard_runs_in(&rep, b, b + len as u64),
            vec![(b + 2 * ps, b + 4 * ps)]
        );
        let v = rep
            .vmas
            .iter()
            .find(|v| v.map.start <= b && b + len as u64 <= v.map.end)
            .unwrap();
        assert_eq!(v.guard_pages, 2);
    }

    // SAFETY: our mapping.
    assert_eq!(
        unsafe { libc::madvise((b + 2 * ps) as *mut _, 2 * ps as usize, MADV_GUARD_REMOVE) },
        0
    );
    let rep = gmaps::snapshot(pid, Options::default()).unwrap();
    assert!(guard_runs_in(&rep, b, b + len as u64).is_empty());
}

/// The probe picks PAGEMAP_SCAN on this (6.16+) kernel and can be forced to bit 58.
#[test]
fn probe_methods() {
    let p = gmaps::probe(MethodChoice::Auto).unwrap();
    assert_eq!(p.method, Method::PagemapScan, "{:?}", p.scan_unavailable);
    assert_eq!(
        gmaps::probe(MethodChoice::Pagemap).unwrap().method,
        Method::PagemapBit58
    );
}

/// Our own executable's file VMAs are named after its PT_LOADs.
#[test]
fn names_own_segments() {
    let rep = gmaps::snapshot(std::process::id() as i32, Options::default()).unwrap();
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    let exe = exe.to_str().unwrap();
    let segs: Vec<&str> = rep
        .vmas
        .iter()
        .filter(|v| v.map.path.as_deref() == Some(exe))
        .flat_map(|v| {
            v.runs
                .iter()
                .flat_map(|r| r.segments.iter().map(String::as_str))
        })
        .collect();
    assert!(segs.contains(&"PT_LOAD#0"), "{segs:?}");
    assert!(
        segs.iter()
            .all(|s| s.starts_with("PT_LOAD#") || s.starts_with("gap#")),
        "{segs:?}"
    );
}
