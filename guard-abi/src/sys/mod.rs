//! no_std syscall wrappers on fds the caller opened (`/proc/PID/pagemap`, `/proc/PID/maps`),
//! with buffers the caller passes: no allocation, no panics, errors as [`rustix::io::Errno`].

mod advise;
mod pagemap;
mod query;
mod scan;

pub use advise::{IoVec, advice_known, install_guards, madvise, mremap_dontunmap, process_madvise_self};
pub use pagemap::{count_guard_bits, read_pagemap};
pub use query::procmap_query;
pub use scan::{ScanChunk, count_guard_pages, for_each_guard_range, pagemap_scan};

pub use rustix::fd::BorrowedFd;
pub use rustix::io::{Errno, Result};

/// The errors that mean "this kernel does not know the ioctl or the category", as opposed to
/// a failure of this call (EINVAL: unknown category bits or flags; ENOTTY: unknown ioctl).
pub fn is_unsupported(e: Errno) -> bool {
    e == Errno::INVAL || e == Errno::NOTTY
}

// The opcodes abi.rs composes by hand match rustix's _IOWR.
const _: () =
    assert!(rustix::ioctl::opcode::read_write::<crate::PmScanArg>(b'f', 16) == crate::PAGEMAP_SCAN);
const _: () = assert!(
    rustix::ioctl::opcode::read_write::<crate::ProcmapQuery>(b'f', 17) == crate::PROCMAP_QUERY
);
