//! `PAGEMAP_SCAN` (6.7+; category `PAGE_IS_GUARD` 6.16+) on an open pagemap fd.

use super::{BorrowedFd, Errno, Result};
use crate::abi::{PAGE_IS_GUARD, PAGEMAP_SCAN, PageRegion, PmScanArg, pm_scan_arg};
use core::ffi::c_void;
use rustix::ioctl::{Ioctl, IoctlOutput, Opcode};

/// What one `PAGEMAP_SCAN` call did: `regions` entries of the buffer filled, and the address
/// the walk stopped at (the end, or where the buffer ran full).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanChunk {
    pub regions: usize,
    pub walk_end: u64,
}

/// The ioctl returns the number of regions it filled: rustix's `Updater` pattern discards it.
struct Scan<'a>(&'a mut PmScanArg);

// SAFETY: PAGEMAP_SCAN reads and updates a `pm_scan_arg` (its `walk_end`) and writes at most
// `vec_len` `page_region`s at `vec`; `pagemap_scan` builds both from live Rust borrows.
unsafe impl Ioctl for Scan<'_> {
    type Output = usize;
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> Opcode {
        PAGEMAP_SCAN
    }

    fn as_ptr(&mut self) -> *mut c_void {
        (self.0 as *mut PmScanArg).cast()
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> Result<usize> {
        usize::try_from(out).map_err(|_| Errno::INVAL)
    }
}

/// One `PAGEMAP_SCAN` over `[start, end)`: pages having every category of `category_mask`,
/// reported with their `return_mask` categories into `out`. `start` must be page-aligned
/// (EINVAL otherwise, the same error as a kernel that lacks a category: see
/// [`super::is_unsupported`]).
pub fn pagemap_scan(
    pagemap: BorrowedFd<'_>,
    start: u64,
    end: u64,
    category_mask: u64,
    return_mask: u64,
    out: &mut [PageRegion],
) -> Result<ScanChunk> {
    let mut arg = pm_scan_arg(start, end, category_mask, return_mask, out);
    // SAFETY: `arg.vec`/`vec_len` describe `out`, which is exclusively borrowed for the call;
    // `arg` lives across it.
    let n = unsafe { rustix::ioctl::ioctl(pagemap, Scan(&mut arg)) }?;
    Ok(ScanChunk {
        regions: n.min(out.len()),
        walk_end: arg.walk_end,
    })
}

/// Calls `f(start, end)` for each guarded range in `[start, end)`, in address order, adjacent
/// ranges merged (also across buffer refills). `buf` is scratch: any non-zero length works,
/// larger means fewer calls.
pub fn for_each_guard_range(
    pagemap: BorrowedFd<'_>,
    start: u64,
    end: u64,
    buf: &mut [PageRegion],
    mut f: impl FnMut(u64, u64),
) -> Result<()> {
    if buf.is_empty() {
        return Err(Errno::INVAL);
    }
    let mut pending: Option<(u64, u64)> = None;
    let mut cur = start;
    while cur < end {
        let chunk = pagemap_scan(pagemap, cur, end, PAGE_IS_GUARD, PAGE_IS_GUARD, buf)?;
        for r in buf.get(..chunk.regions).unwrap_or_default() {
            if r.categories & PAGE_IS_GUARD == 0 || r.end <= r.start {
                continue;
            }
            pending = match pending {
                Some((s, e)) if e == r.start => Some((s, r.end)),
                Some((s, e)) => {
                    f(s, e);
                    Some((r.start, r.end))
                }
                None => Some((r.start, r.end)),
            };
        }
        // No progress would loop forever: treat it as the end.
        if chunk.walk_end <= cur {
            break;
        }
        cur = chunk.walk_end;
    }
    if let Some((s, e)) = pending {
        f(s, e);
    }
    Ok(())
}

/// Guarded pages in `[start, end)`.
pub fn count_guard_pages(
    pagemap: BorrowedFd<'_>,
    start: u64,
    end: u64,
    page_size: u64,
    buf: &mut [PageRegion],
) -> Result<u64> {
    let mut bytes = 0u64;
    for_each_guard_range(pagemap, start, end, buf, |s, e| {
        bytes = bytes.saturating_add(e - s)
    })?;
    bytes.checked_div(page_size).ok_or(Errno::INVAL)
}
