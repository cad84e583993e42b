//! Guard pages of a pid: pagemap bit 58 (6.15+) and PAGEMAP_SCAN (6.16+).

use crate::{fd, io_err, proc_path};
use guard_abi::pagemap::{ENTRY_SIZE, entries, is_guard_entry};
use guard_abi::sys;
use guard_abi::{EMPTY_PAGE_REGION, PageRegion};
use std::fs::File;
use std::io;

/// Pagemap entries read per pread.
const CHUNK_ENTRIES: u64 = 8192;
/// `page_region`s per PAGEMAP_SCAN call.
const SCAN_REGIONS: usize = 256;

pub fn open_pagemap(pid: u32) -> io::Result<File> {
    File::open(proc_path(pid, "pagemap"))
}

/// EINVAL or ENOTTY from PAGEMAP_SCAN or PROCMAP_QUERY: the kernel does not know the ioctl or
/// the category, so fall back to the older interface.
pub fn is_unsupported(e: &io::Error) -> bool {
    e.raw_os_error()
        .is_some_and(|n| sys::is_unsupported(rustix::io::Errno::from_raw_os_error(n)))
}

/// Calls `f(addr, entry)` for every page of `[start, end)`, reading in chunks.
fn each_entry(
    pagemap: &File,
    start: u64,
    end: u64,
    page_size: u64,
    mut f: impl FnMut(u64, u64),
) -> io::Result<()> {
    if page_size == 0 {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    let mut buf = vec![0u8; CHUNK_ENTRIES as usize * ENTRY_SIZE];
    let mut page = start / page_size;
    let last = end.div_ceil(page_size);
    while page < last {
        let n = (last - page).min(CHUNK_ENTRIES);
        // n <= CHUNK_ENTRIES: within buf.
        let chunk = buf.get_mut(..n as usize * ENTRY_SIZE).unwrap_or_default();
        let got =
            sys::read_pagemap(fd(pagemap), page * page_size, page_size, chunk).map_err(io_err)?;
        if got as u64 != n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        for (i, e) in entries(chunk).enumerate() {
            f((page + i as u64) * page_size, e);
        }
        page += n;
    }
    Ok(())
}

/// The raw pagemap entry of every page of `[start, end)`, in order.
pub fn pagemap_entries(
    pagemap: &File,
    start: u64,
    end: u64,
    page_size: u64,
) -> io::Result<Vec<u64>> {
    let mut v = Vec::new();
    each_entry(pagemap, start, end, page_size, |_, e| v.push(e))?;
    Ok(v)
}

/// Bit 58 of every page of `[start, end)`, in order.
pub fn guard_bits(pagemap: &File, start: u64, end: u64, page_size: u64) -> io::Result<Vec<bool>> {
    let mut v = Vec::new();
    each_entry(pagemap, start, end, page_size, |_, e| {
        v.push(is_guard_entry(e))
    })?;
    Ok(v)
}

fn push_merged(out: &mut Vec<(u64, u64)>, s: u64, e: u64) {
    match out.last_mut() {
        Some(last) if last.1 == s => last.1 = e,
        _ => out.push((s, e)),
    }
}

/// Guarded ranges in `[start, end)` from pagemap bit 58: sorted, adjacent ones merged.
pub fn guard_ranges_pagemap(
    pagemap: &File,
    start: u64,
    end: u64,
    page_size: u64,
) -> io::Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    each_entry(pagemap, start, end, page_size, |a, e| {
        if is_guard_entry(e) {
            push_merged(&mut out, a, a + page_size);
        }
    })?;
    Ok(out)
}

/// Guarded ranges in `[start, end)` from PAGEMAP_SCAN: sorted, adjacent ones merged. EINVAL or
/// ENOTTY (see [`is_unsupported`]) on kernels without `PAGE_IS_GUARD`.
pub fn guard_ranges_scan(pagemap: &File, start: u64, end: u64) -> io::Result<Vec<(u64, u64)>> {
    let mut buf: Vec<PageRegion> = vec![EMPTY_PAGE_REGION; SCAN_REGIONS];
    let mut out = Vec::new();
    sys::for_each_guard_range(fd(pagemap), start, end, &mut buf, |s, e| {
        push_merged(&mut out, s, e)
    })
    .map_err(io_err)?;
    Ok(out)
}

/// Guarded ranges of process `pid` in `[start, end)`: PAGEMAP_SCAN, or pagemap bit 58 where
/// the kernel lacks it.
pub fn guard_ranges(pid: u32, start: u64, end: u64) -> io::Result<Vec<(u64, u64)>> {
    let pm = open_pagemap(pid)?;
    match guard_ranges_scan(&pm, start, end) {
        Err(e) if is_unsupported(&e) => guard_ranges_pagemap(&pm, start, end, crate::page_size()),
        r => r,
    }
}

/// Guarded pages of process `pid` in `[start, end)` (see [`guard_ranges`]).
pub fn count_guard_pages(pid: u32, start: u64, end: u64) -> io::Result<u64> {
    let ps = crate::page_size();
    Ok(guard_ranges(pid, start, end)?
        .iter()
        .map(|(s, e)| (e - s) / ps)
        .sum())
}
