//! `/proc/PID/pagemap`: one native-endian u64 per virtual page, at file offset
//! `(addr / page_size) * 8` (Documentation/admin-guide/mm/pagemap.rst).

use crate::abi::PM_GUARD_REGION;

/// Bytes per pagemap entry.
pub const ENTRY_SIZE: usize = 8;

/// Whether a pagemap entry marks a guard page (bit 58).
pub const fn is_guard_entry(entry: u64) -> bool {
    entry & PM_GUARD_REGION != 0
}

/// File offset of the entry for the page holding `addr`. None on overflow or page size 0.
pub fn pagemap_offset(addr: u64, page_size: u64) -> Option<u64> {
    addr.checked_div(page_size)?.checked_mul(ENTRY_SIZE as u64)
}

/// The entries in a buffer read from pagemap (a partial entry at the end is ignored).
pub fn entries(buf: &[u8]) -> impl Iterator<Item = u64> + '_ {
    buf.chunks_exact(ENTRY_SIZE)
        .filter_map(|c| c.first_chunk::<ENTRY_SIZE>())
        .map(|b| u64::from_ne_bytes(*b))
}

/// How many entries of `buf` mark guard pages.
pub fn count_guard_entries(buf: &[u8]) -> u64 {
    entries(buf).filter(|&e| is_guard_entry(e)).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_entries() {
        let mut buf = [0u8; 8 * 3 + 5];
        buf[8..16].copy_from_slice(&(PM_GUARD_REGION | 1 << 63).to_ne_bytes());
        assert_eq!(entries(&buf).count(), 3);
        assert_eq!(count_guard_entries(&buf), 1);
        assert!(!is_guard_entry(1 << 57));
        assert_eq!(pagemap_offset(0x7000, 4096), Some(56));
        assert_eq!(pagemap_offset(0x7000, 0), None);
        assert_eq!(pagemap_offset(u64::MAX, 1), None);
    }
}
