//! Reading `/proc/PID/pagemap` entries with pread (bit 58 needs 6.15+).

use super::{BorrowedFd, Errno, Result};
use crate::pagemap::{ENTRY_SIZE, count_guard_entries, pagemap_offset};

/// Reads the entries of the pages from `addr` on into `out` (8 bytes each; a trailing partial
/// entry of `out` is left alone). Returns the number of whole entries read: fewer than asked
/// only at the end of the address space.
pub fn read_pagemap(
    pagemap: BorrowedFd<'_>,
    addr: u64,
    page_size: u64,
    out: &mut [u8],
) -> Result<usize> {
    let want = out.len() / ENTRY_SIZE * ENTRY_SIZE;
    let mut off = pagemap_offset(addr, page_size).ok_or(Errno::INVAL)?;
    let mut done = 0;
    while done < want {
        let rest = out.get_mut(done..want).unwrap_or_default();
        let n = rustix::io::retry_on_intr(|| rustix::io::pread(pagemap, &mut *rest, off))?;
        if n == 0 {
            break;
        }
        done += n;
        off = off.saturating_add(n as u64);
    }
    Ok(done / ENTRY_SIZE)
}

/// Pages of `[start, end)` whose entry has bit 58 set, read through the scratch `buf` (at
/// least one entry long). A short read (past the end of the address space) is EIO, not a
/// short count.
pub fn count_guard_bits(
    pagemap: BorrowedFd<'_>,
    start: u64,
    end: u64,
    page_size: u64,
    buf: &mut [u8],
) -> Result<u64> {
    let per_read = (buf.len() / ENTRY_SIZE) as u64;
    if per_read == 0 || page_size == 0 {
        return Err(Errno::INVAL);
    }
    let mut page = start / page_size;
    let last = end.div_ceil(page_size);
    let mut total = 0;
    while page < last {
        let n = (last - page).min(per_read);
        let chunk = buf.get_mut(..(n as usize) * ENTRY_SIZE).unwrap_or_default();
        let addr = page.checked_mul(page_size).ok_or(Errno::INVAL)?;
        if read_pagemap(pagemap, addr, page_size, chunk)? as u64 != n {
            return Err(Errno::IO);
        }
        total += count_guard_entries(chunk);
        page += n;
    }
    Ok(total)
}
