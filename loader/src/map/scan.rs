//! Asking the kernel which pages are guarded: PAGEMAP_SCAN (Linux 6.16+)
//! with PAGE_IS_GUARD. Used by `--probe` and by guard enumeration.

use rustix::fd::AsFd;

/// _IOWR('f', 16, struct pm_scan_arg): struct of 96 bytes.
const PAGEMAP_SCAN: usize = 0xc060_6610;
/// include/uapi/linux/fs.h: PAGE_IS_GUARD is bit 8 (bit 7 is soft-dirty).
const PAGE_IS_GUARD: u64 = linux_raw_sys::general::PAGE_IS_GUARD as u64;

#[repr(C)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

/// Guarded pages (of `page_size` bytes) in `[addr, addr+len)` of this
/// process, or None when the kernel cannot say.
pub fn count_guard_pages(addr: usize, len: usize, page_size: u64) -> Option<usize> {
    if page_size == 0 {
        return None;
    }
    let fd = rustix::fs::open(c"/proc/self/pagemap", rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty()).ok()?;
    let mut regions = [PageRegion::default(); 32];
    let mut total = 0;
    let mut start = addr as u64;
    let end = (addr + len) as u64;
    while start < end {
        let mut arg = PmScanArg {
            size: core::mem::size_of::<PmScanArg>() as u64,
            flags: 0,
            start,
            end,
            walk_end: 0,
            vec: regions.as_mut_ptr() as u64,
            vec_len: regions.len() as u64,
            max_pages: 0,
            category_inverted: 0,
            category_mask: PAGE_IS_GUARD,
            category_anyof_mask: 0,
            return_mask: PAGE_IS_GUARD,
        };
        // SAFETY: PAGEMAP_SCAN reads `arg` and writes at most vec_len regions
        // into `regions` and `walk_end` into `arg`; both outlive the call.
        let n = unsafe { crate::sys::raw::ioctl_ptr(fd.as_fd(), PAGEMAP_SCAN, &mut arg) }.ok()?;
        total += regions[..n.min(regions.len())].iter().map(|r| ((r.end - r.start) / page_size) as usize).sum::<usize>();
        if arg.walk_end <= start {
            break;
        }
        start = arg.walk_end;
    }
    Some(total)
}
