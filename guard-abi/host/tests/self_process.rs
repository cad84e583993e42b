//! The readers against this test process's own address space, where the truth is known:
//! guards installed here, maps lines the kernel printed. Needs a 6.16+ kernel (PAGEMAP_SCAN
//! with PAGE_IS_GUARD) and 6.11+ (PROCMAP_QUERY).
use guard_abi::{MADV_GUARD_INSTALL, MADV_GUARD_REMOVE};
use guard_abi_host::{self as host, Vma};
use std::fs::File;

fn me() -> u32 {
    std::process::id()
}

/// The tests run on threads of one process: one at a time, so that one test's mappings do
/// not change the VMAs another is comparing. (The harness's own thread stacks still come and
/// go: comparisons of two reads retry.)
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// An anonymous mapping of `pages` pages, unmapped on drop.
struct Anon {
    base: u64,
    len: usize,
}

impl Anon {
    fn new(pages: usize) -> Anon {
        let len = pages * host::page_size() as usize;
        // SAFETY: a fresh anonymous mapping; only this struct touches it, and unmaps it.
        let p = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::PRIVATE,
            )
        }
        .expect("mmap");
        // SAFETY: writes inside the mapping just made, so that its pages are present.
        unsafe { std::ptr::write_bytes(p.cast::<u8>(), 1, len) };
        Anon {
            base: p as u64,
            len,
        }
    }

    fn page(&self, i: u64) -> u64 {
        self.base + i * host::page_size()
    }

    fn end(&self) -> u64 {
        self.base + self.len as u64
    }

    fn advise(&self, first: u64, pages: u64, advice: u32) {
        let ps = host::page_size();
        // SAFETY: madvise on pages of our own mapping; the guard advices only change what an
        // access to them does, and nothing here accesses them afterwards.
        let r = unsafe {
            libc::madvise(
                self.page(first) as *mut _,
                (pages * ps) as usize,
                advice as i32,
            )
        };
        assert_eq!(
            r,
            0,
            "madvise {advice}: {}",
            std::io::Error::last_os_error()
        );
    }
}

impl Drop for Anon {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping this struct made.
        let _ = unsafe { rustix::mm::munmap(self.base as *mut _, self.len) };
    }
}

#[test]
fn maps_of_self_round_trip_and_parse() {
    let _s = serial();
    let (text, vmas) = host::read_maps_text(me()).unwrap();
    assert_eq!(vmas.len(), text.lines().count());
    for (v, l) in vmas.iter().zip(text.lines()) {
        assert_eq!(v.to_string(), l, "Display prints the kernel's line");
    }
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    let exe = exe.to_str().unwrap();
    assert!(host::vmas_of(&vmas, exe).all(Vma::is_file));
    let (lo, hi) = host::span_of(&vmas, exe).unwrap();
    assert!(lo < hi && host::vmas_in(&vmas, lo, hi).count() >= 2);
}

#[test]
fn guards_seen_by_scan_pagemap_and_smaps() {
    let _s = serial();
    let a = Anon::new(8);
    a.advise(2, 2, MADV_GUARD_INSTALL);
    a.advise(5, 1, MADV_GUARD_INSTALL);
    let want = vec![(a.page(2), a.page(4)), (a.page(5), a.page(6))];
    let pm = host::open_pagemap(me()).unwrap();
    let ps = host::page_size();

    assert_eq!(host::guard_ranges_scan(&pm, a.base, a.end()).unwrap(), want);
    assert_eq!(
        host::guard_ranges_pagemap(&pm, a.base, a.end(), ps).unwrap(),
        want
    );
    assert_eq!(host::guard_ranges(me(), a.base, a.end()).unwrap(), want);
    assert_eq!(host::count_guard_pages(me(), a.base, a.end()).unwrap(), 3);
    let bits = host::guard_bits(&pm, a.base, a.end(), ps).unwrap();
    assert_eq!(bits, [false, false, true, true, false, true, false, false]);
    let entries = host::pagemap_entries(&pm, a.base, a.end(), ps).unwrap();
    assert!(guard_abi::is_guard_entry(entries[2]) && entries[0] & guard_abi::PM_PRESENT != 0);

    // A buffer of one region: the walk resumes at walk_end and still merges.
    let mut one = [guard_abi::EMPTY_PAGE_REGION; 1];
    let mut got = Vec::new();
    guard_abi::sys::for_each_guard_range(fd(&pm), a.base, a.end(), &mut one, |s, e| {
        got.push((s, e))
    })
    .unwrap();
    assert_eq!(got, want);
    let n = guard_abi::sys::count_guard_pages(fd(&pm), a.base, a.end(), ps, &mut one).unwrap();
    assert_eq!(n, 3);
    let mut buf = [0u8; 8 * 3];
    assert_eq!(
        guard_abi::sys::count_guard_bits(fd(&pm), a.base, a.end(), ps, &mut buf).unwrap(),
        3
    );
    assert_eq!(
        guard_abi::sys::read_pagemap(fd(&pm), a.page(2), ps, &mut buf).unwrap(),
        3
    );
    assert_eq!(guard_abi::pagemap::count_guard_entries(&buf), 2);

    // The VMA stays one VMA; smaps flags it `gu` where the kernel prints the flag.
    let vmas = host::read_maps(me()).unwrap();
    let v = host::vma_at(&vmas, a.base).unwrap();
    assert!(v.start <= a.base && a.end() <= v.end);
    let smaps = std::fs::read("/proc/self/smaps").unwrap();
    let s = guard_abi::smaps_vmas(&smaps)
        .find(|s| s.entry.start <= a.base && a.base < s.entry.end)
        .unwrap();
    let f = s.flags.expect("VmFlags line");
    assert!(f.contains("rd") && f.contains("wr"));
    let owned = host::read_vm_flags(me()).unwrap();
    assert!(owned.values().any(|f| f.iter().any(|x| x == "rd")));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    eprintln!("kernel {}: smaps gu {}", kernel.trim(), f.has_guard());

    a.advise(0, 8, MADV_GUARD_REMOVE);
    assert!(
        host::guard_ranges_scan(&pm, a.base, a.end())
            .unwrap()
            .is_empty()
    );
    assert!(
        host::guard_ranges_pagemap(&pm, a.base, a.end(), ps)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn procmap_query_agrees_with_the_text() {
    let _s = serial();
    let a = Anon::new(3);
    let maps = File::open("/proc/self/maps").unwrap();
    // Every VMA as PROCMAP_QUERY sees it, between two identical reads of the text.
    let (vmas, queried) = (0..20)
        .find_map(|_| {
            let before = host::read_maps(me()).unwrap();
            let q: Vec<Option<Vma>> = before
                .iter()
                // The [vsyscall] gate area is no VMA of the mm: the ioctl does not find it.
                .filter(|v| v.path.as_deref() != Some("[vsyscall]"))
                .map(|v| host::query_vma_ioctl(&maps, v.start).unwrap())
                .collect();
            (host::read_maps(me()).unwrap() == before).then_some((before, q))
        })
        .expect("maps kept changing");
    for (v, q) in vmas.iter().zip(&queried) {
        assert_eq!(q.as_ref(), Some(v), "PROCMAP_QUERY vs maps line");
    }
    let v = host::vma_at(&vmas, a.base).unwrap();
    assert_eq!(
        host::query_vma(me(), a.base)
            .unwrap()
            .as_ref()
            .map(|q| q.start),
        Some(v.start)
    );
    let inside = host::query_vma(me(), a.page(1)).unwrap().unwrap();
    assert!(inside.contains(a.page(1)) && inside.perms.write);
    assert_eq!(
        host::query_vma_ioctl(&maps, 0).unwrap(),
        None,
        "nothing at address 0"
    );

    // COVERING_OR_NEXT from 0 finds the lowest VMA; a small name buffer is ENAMETOOLONG.
    let mut name = [0u8; 4096];
    let first = guard_abi::sys::procmap_query(
        fd(&maps),
        0,
        guard_abi::PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
        &mut name,
    )
    .unwrap()
    .unwrap();
    assert_eq!(first.start, vmas[0].start);
    let file = vmas.iter().find(|v| v.is_file()).unwrap();
    let mut tiny = [0u8; 2];
    let e = guard_abi::sys::procmap_query(fd(&maps), file.start, 0, &mut tiny).unwrap_err();
    assert_eq!(e, rustix::io::Errno::NAMETOOLONG);
    let nameless = guard_abi::sys::procmap_query(fd(&maps), file.start, 0, &mut [])
        .unwrap()
        .unwrap();
    assert_eq!((nameless.start, nameless.path), (file.start, &b""[..]));
}

#[test]
fn errors_for_a_missing_process() {
    let _s = serial();
    // Above pid_max's ceiling: no such process.
    let pid = 4_194_305;
    for e in [
        host::read_maps(pid).unwrap_err(),
        host::read_vm_flags(pid).unwrap_err(),
        host::open_pagemap(pid).unwrap_err(),
        host::query_vma(pid, 0).unwrap_err(),
    ] {
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
}

fn fd(f: &File) -> guard_abi::sys::BorrowedFd<'_> {
    use std::os::fd::AsRawFd;
    // SAFETY: `f` stays open for as long as the result borrows it.
    unsafe { guard_abi::sys::BorrowedFd::borrow_raw(f.as_raw_fd()) }
}
