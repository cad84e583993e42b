//! Numbers and argument layouts. Everything `linux-raw-sys` defines is taken from it; what it
//! lacks is defined here once, with the kernel file it comes from.

use core::mem::size_of;
use linux_raw_sys::general;

pub use linux_raw_sys::general::{MADV_GUARD_INSTALL, MADV_GUARD_REMOVE};

/// `struct pm_scan_arg` (include/uapi/linux/fs.h): the `PAGEMAP_SCAN` argument.
pub type PmScanArg = general::pm_scan_arg;
/// `struct page_region` (include/uapi/linux/fs.h): one range `PAGEMAP_SCAN` returns.
pub type PageRegion = general::page_region;
/// `struct procmap_query` (include/uapi/linux/fs.h): the `PROCMAP_QUERY` argument.
pub type ProcmapQuery = general::procmap_query;

const _: () = assert!(size_of::<PmScanArg>() == 96);
const _: () = assert!(size_of::<PageRegion>() == 24);
const _: () = assert!(size_of::<ProcmapQuery>() == 104);

// PAGEMAP_SCAN categories, widened to the u64 of the mask fields.
pub const PAGE_IS_WPALLOWED: u64 = general::PAGE_IS_WPALLOWED as u64;
pub const PAGE_IS_WRITTEN: u64 = general::PAGE_IS_WRITTEN as u64;
pub const PAGE_IS_FILE: u64 = general::PAGE_IS_FILE as u64;
pub const PAGE_IS_PRESENT: u64 = general::PAGE_IS_PRESENT as u64;
pub const PAGE_IS_SWAPPED: u64 = general::PAGE_IS_SWAPPED as u64;
pub const PAGE_IS_PFNZERO: u64 = general::PAGE_IS_PFNZERO as u64;
pub const PAGE_IS_HUGE: u64 = general::PAGE_IS_HUGE as u64;
pub const PAGE_IS_SOFT_DIRTY: u64 = general::PAGE_IS_SOFT_DIRTY as u64;
/// Guard region (6.16+). Bit 8: bit 7 is soft-dirty, an easy slip.
pub const PAGE_IS_GUARD: u64 = general::PAGE_IS_GUARD as u64;
const _: () = assert!(PAGE_IS_GUARD == 1 << 8);

// PROCMAP_QUERY flags (enum procmap_query_flags), as the u64 of `query_flags`/`vma_flags`.
use general::procmap_query_flags as qf;
pub const PROCMAP_QUERY_VMA_READABLE: u64 = qf::PROCMAP_QUERY_VMA_READABLE as u64;
pub const PROCMAP_QUERY_VMA_WRITABLE: u64 = qf::PROCMAP_QUERY_VMA_WRITABLE as u64;
pub const PROCMAP_QUERY_VMA_EXECUTABLE: u64 = qf::PROCMAP_QUERY_VMA_EXECUTABLE as u64;
pub const PROCMAP_QUERY_VMA_SHARED: u64 = qf::PROCMAP_QUERY_VMA_SHARED as u64;
/// Query flag: the VMA covering the address, else the next one above it.
pub const PROCMAP_QUERY_COVERING_OR_NEXT_VMA: u64 = qf::PROCMAP_QUERY_COVERING_OR_NEXT_VMA as u64;
/// Query flag: only file-backed VMAs.
pub const PROCMAP_QUERY_FILE_BACKED_VMA: u64 = qf::PROCMAP_QUERY_FILE_BACKED_VMA as u64;

// /proc/PID/pagemap entry bits. Not uapi: fs/proc/task_mmu.c defines them and
// Documentation/admin-guide/mm/pagemap.rst documents them, so linux-raw-sys has none.
/// The page is present in RAM.
pub const PM_PRESENT: u64 = 1 << 63;
/// The page is swapped out.
pub const PM_SWAP: u64 = 1 << 62;
/// The page is file-backed or shared anonymous.
pub const PM_FILE: u64 = 1 << 61;
/// The page is a guard region (`PM_GUARD_REGION`, 6.15+).
pub const PM_GUARD_REGION: u64 = 1 << 58;

// ioctl numbers. linux-raw-sys has the structs and PROCFS_IOCTL_MAGIC but not the _IOWR
// values, which are macros in include/uapi/linux/fs.h.
/// `_IOWR(dir=3, type, nr, size)` as include/uapi/asm-generic/ioctl.h composes it.
const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    assert!(size < 1 << 14, "ioctl size field is 14 bits");
    (3 << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | nr as u32
}

/// `PAGEMAP_SCAN = _IOWR(PROCFS_IOCTL_MAGIC, 16, struct pm_scan_arg)`, on `/proc/PID/pagemap`.
pub const PAGEMAP_SCAN: u32 = iowr(general::PROCFS_IOCTL_MAGIC, 16, size_of::<PmScanArg>());
/// `PROCMAP_QUERY = _IOWR(PROCFS_IOCTL_MAGIC, 17, struct procmap_query)`, on `/proc/PID/maps`
/// (6.11+).
pub const PROCMAP_QUERY: u32 = iowr(general::PROCFS_IOCTL_MAGIC, 17, size_of::<ProcmapQuery>());
const _: () = assert!(PAGEMAP_SCAN == 0xc060_6610);
const _: () = assert!(PROCMAP_QUERY == 0xc068_6611);

/// A `PAGEMAP_SCAN` argument over `[start, end)` that reports pages in `category_mask`
/// (all of them) into `out`, with `return_mask` categories per range.
pub fn pm_scan_arg(
    start: u64,
    end: u64,
    category_mask: u64,
    return_mask: u64,
    out: &mut [PageRegion],
) -> PmScanArg {
    PmScanArg {
        size: size_of::<PmScanArg>() as u64,
        flags: 0,
        start,
        end,
        walk_end: 0,
        vec: out.as_mut_ptr() as u64,
        vec_len: out.len() as u64,
        max_pages: 0,
        category_inverted: 0,
        category_mask,
        category_anyof_mask: 0,
        return_mask,
    }
}

/// An empty `page_region`, to fill buffers with (linux-raw-sys derives no `Default`).
pub const EMPTY_PAGE_REGION: PageRegion = PageRegion {
    start: 0,
    end: 0,
    categories: 0,
};

/// A `PROCMAP_QUERY` argument for `addr` with `query_flags`, the VMA name written to `name`
/// (an empty slice asks for no name). No build id is asked for.
pub fn procmap_query_arg(addr: u64, query_flags: u64, name: &mut [u8]) -> ProcmapQuery {
    ProcmapQuery {
        size: size_of::<ProcmapQuery>() as u64,
        query_flags,
        query_addr: addr,
        vma_start: 0,
        vma_end: 0,
        vma_flags: 0,
        vma_page_size: 0,
        vma_offset: 0,
        inode: 0,
        dev_major: 0,
        dev_minor: 0,
        // The kernel caps the name at PATH_MAX anyway.
        vma_name_size: u32::try_from(name.len()).unwrap_or(u32::MAX),
        build_id_size: 0,
        vma_name_addr: if name.is_empty() {
            0
        } else {
            name.as_mut_ptr() as u64
        },
        build_id_addr: 0,
    }
}
