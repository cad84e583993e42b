//! `guardld --probe`: what this kernel offers for guard regions, observed
//! by trying each mechanism on a scratch mapping.

use super::exec::MADV_GUARD_INSTALL;
use crate::sys::file::read_all;
use crate::sys::raw;
use core::fmt::Write;
use rustix::mm::{MapFlags, ProtFlags};

const PM_GUARD_REGION: u64 = 1 << 58;

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Whether pagemap bit 58 is set for the page at `addr` of this process.
pub fn pagemap_guard(addr: usize, page_size: u64) -> Option<bool> {
    pagemap_guard_pages(addr, page_size as usize, page_size).map(|n| n == 1)
}

/// Pages of `[start, start+len)` with pagemap bit 58 set: one open and one
/// read of their pagemap entries.
fn pagemap_guard_pages(start: usize, len: usize, page_size: u64) -> Option<usize> {
    if page_size == 0 {
        return None;
    }
    let fd = rustix::fs::open(c"/proc/self/pagemap", rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty()).ok()?;
    let pages = len.div_ceil(page_size as usize);
    let mut entries = alloc::vec![0u8; pages * 8];
    let n = rustix::io::pread(&fd, &mut entries, (start as u64 / page_size) * 8).ok()?;
    (n == entries.len()).then(|| {
        entries.chunks_exact(8).filter(|e| u64::from_le_bytes([e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]]) & PM_GUARD_REGION != 0).count()
    })
}

/// Pages (of `page_size` bytes, AT_PAGESZ) of `[start, start+len)` the
/// kernel reports as guarded: PAGEMAP_SCAN when available, else pagemap
/// bit 58. None: cannot tell.
pub fn guarded_pages(start: usize, len: usize, page_size: u64) -> Option<usize> {
    super::scan::count_guard_pages(start, len, page_size).or_else(|| pagemap_guard_pages(start, len, page_size))
}

pub fn report(page_size: u64) {
    let mut w = crate::log::Writer::stdout();
    let uname = rustix::system::uname();
    let _ = writeln!(w, "kernel: {}", crate::error::Bytes(uname.release().to_bytes()));
    let ps = page_size as usize;
    // Anonymous: the advice is known at all?
    // SAFETY: scratch mappings of our own, unmapped below.
    let anon = unsafe { rustix::mm::mmap_anonymous(core::ptr::null_mut(), 3 * ps, ProtFlags::READ, MapFlags::PRIVATE) };
    let known = raw::advice_known(MADV_GUARD_INSTALL);
    let _ = writeln!(w, "MADV_GUARD_INSTALL known: {}", yes(known));
    let anon_ok = anon.as_ref().is_ok_and(|&p| unsafe { raw::madvise(p as usize + ps, ps, MADV_GUARD_INSTALL) }.is_ok());
    let _ = writeln!(w, "anonymous guards install: {}", yes(anon_ok));
    // File-backed: a private mapping of a file we can surely read.
    let file_ok = crate::sys::file::open(c"/proc/self/exe").ok().and_then(|f| {
        // SAFETY: a fresh private read-only mapping of our own executable.
        let p = unsafe { rustix::mm::mmap(core::ptr::null_mut(), ps, ProtFlags::READ, MapFlags::PRIVATE, &f.fd, 0) }.ok()?;
        // SAFETY: the page is ours and holds nothing we use.
        let r = unsafe { raw::madvise(p as usize, ps, MADV_GUARD_INSTALL) }.is_ok();
        let seen = r && pagemap_guard(p as usize, page_size) == Some(true);
        // SAFETY: our own mapping.
        let _ = unsafe { rustix::mm::munmap(p, ps) };
        Some((r, seen))
    });
    let _ = writeln!(w, "file-backed guards install: {}", yes(file_ok.is_some_and(|x| x.0)));
    let bit58 = anon.as_ref().ok().is_some_and(|&p| anon_ok && pagemap_guard(p as usize + ps, page_size) == Some(true));
    let _ = writeln!(w, "pagemap bit 58 reports guards: {}", yes(bit58 || file_ok.is_some_and(|x| x.1)));
    let scan = anon.as_ref().ok().and_then(|&p| super::scan::count_guard_pages(p as usize, 3 * ps, page_size));
    let _ = writeln!(w, "PAGEMAP_SCAN PAGE_IS_GUARD reports guards: {}", yes(scan == Some(1)));
    let smaps = read_all(c"/proc/self/smaps").is_some_and(|s| s.windows(4).any(|x| x == b" gu " ) || s.windows(3).any(|x| x == b" gu"));
    let _ = writeln!(w, "smaps VmFlags shows gu: {}", yes(smaps && anon_ok));
    let max = read_all(c"/proc/sys/vm/max_map_count").unwrap_or_default();
    let _ = writeln!(w, "vm.max_map_count: {}", crate::error::Bytes(max.strip_suffix(b"\n").unwrap_or(&max)));
    if let Ok(p) = anon {
        // SAFETY: our own scratch mapping.
        let _ = unsafe { rustix::mm::munmap(p, 3 * ps) };
    }
}
