//! `guardld --probe`: what this kernel offers for guard regions, observed
//! by trying each mechanism on a scratch mapping.

use super::exec::MADV_GUARD_INSTALL;
use crate::sys::file::read_all;
use crate::sys::raw::Scratch;
use core::fmt::Write;
use rustix::fd::{AsFd, OwnedFd};

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn pagemap() -> Option<OwnedFd> {
    rustix::fs::open(c"/proc/self/pagemap", rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty()).ok()
}

/// Pages of `[start, start+len)` with pagemap bit 58 set.
fn pagemap_guard_pages(start: usize, len: usize, page_size: u64) -> Option<usize> {
    let mut buf = [0u8; 64 * 8];
    let end = (start as u64).checked_add(len as u64)?;
    guard_abi::sys::count_guard_bits(pagemap()?.as_fd(), start as u64, end, page_size, &mut buf).ok().map(|n| n as usize)
}

/// Guarded pages per PAGEMAP_SCAN (Linux 6.16+); None when the kernel
/// cannot say.
fn scan_guard_pages(start: usize, len: usize, page_size: u64) -> Option<usize> {
    let mut regions = [guard_abi::EMPTY_PAGE_REGION; 32];
    let end = (start as u64).checked_add(len as u64)?;
    guard_abi::sys::count_guard_pages(pagemap()?.as_fd(), start as u64, end, page_size, &mut regions).ok().map(|n| n as usize)
}

/// Pages (of `page_size` bytes, AT_PAGESZ) of `[start, start+len)` the
/// kernel reports as guarded: PAGEMAP_SCAN when available, else pagemap
/// bit 58. None: cannot tell.
pub fn guarded_pages(start: usize, len: usize, page_size: u64) -> Option<usize> {
    scan_guard_pages(start, len, page_size).or_else(|| pagemap_guard_pages(start, len, page_size))
}

pub fn report(page_size: u64) {
    let mut w = crate::log::Writer::stdout();
    let uname = rustix::system::uname();
    let _ = writeln!(w, "kernel: {}", crate::error::Bytes(uname.release().to_bytes()));
    let ps = page_size as usize;
    // Anonymous: is the advice known at all, does it install?
    let anon = Scratch::anonymous(3 * ps);
    let _ = writeln!(w, "MADV_GUARD_INSTALL known: {}", yes(guard_abi::sys::advice_known(MADV_GUARD_INSTALL)));
    let anon_ok = anon.as_ref().is_some_and(|a| a.advise(ps, ps, MADV_GUARD_INSTALL).is_ok());
    let _ = writeln!(w, "anonymous guards install: {}", yes(anon_ok));
    // File-backed: a private mapping of a file we can surely read.
    let file_ok = crate::sys::file::open(c"/proc/self/exe").ok().and_then(|f| {
        let m = Scratch::file(f.fd.as_fd(), ps)?;
        let r = m.advise(0, ps, MADV_GUARD_INSTALL).is_ok();
        Some((r, r && pagemap_guard_pages(m.addr(), ps, page_size) == Some(1)))
    });
    let _ = writeln!(w, "file-backed guards install: {}", yes(file_ok.is_some_and(|x| x.0)));
    let bit58 = anon.as_ref().is_some_and(|a| anon_ok && pagemap_guard_pages(a.addr() + ps, ps, page_size) == Some(1));
    let _ = writeln!(w, "pagemap bit 58 reports guards: {}", yes(bit58 || file_ok.is_some_and(|x| x.1)));
    let scan = anon.as_ref().and_then(|a| scan_guard_pages(a.addr(), 3 * ps, page_size));
    let _ = writeln!(w, "PAGEMAP_SCAN PAGE_IS_GUARD reports guards: {}", yes(scan == Some(1)));
    let smaps = read_all(c"/proc/self/smaps")
        .is_some_and(|s| guard_abi::smaps_vmas(&s).any(|v| v.flags.is_some_and(|f| f.has_guard())));
    let _ = writeln!(w, "smaps VmFlags shows gu: {}", yes(smaps && anon_ok));
    let max = read_all(c"/proc/sys/vm/max_map_count").unwrap_or_default();
    let _ = writeln!(w, "vm.max_map_count: {}", crate::error::Bytes(max.strip_suffix(b"\n").unwrap_or(&max)));
}
