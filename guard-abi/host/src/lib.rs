//! guard-abi for host tools and tests (std): a pid's maps, smaps VmFlags, pagemap guard bits,
//! PAGEMAP_SCAN guard ranges and PROCMAP_QUERY, as owned data and `io::Result`s, built on
//! guard-abi's parsers and syscall wrappers.
//!
//! Reading another process's pagemap (and smaps, PROCMAP_QUERY) needs ptrace-read access:
//! same uid and dumpable, or CAP_SYS_PTRACE.

mod maps;
mod pagemap;
mod query;
mod smaps;

pub use maps::{
    Vma, base_of, count_gaps_in, parse_maps, read_maps, read_maps_text, span_of, vma_at, vmas_in,
    vmas_of,
};
pub use pagemap::{
    count_guard_pages, guard_bits, guard_ranges, guard_ranges_pagemap, guard_ranges_scan,
    is_unsupported, open_pagemap, pagemap_entries,
};
pub use query::{query_vma, query_vma_ioctl};
pub use smaps::{parse_vm_flags, read_vm_flags};

use rustix::fd::BorrowedFd;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// `/proc/PID/NAME`.
pub fn proc_path(pid: u32, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{name}"))
}

/// This system's page size.
pub fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

/// rustix without its `std` feature has its own fd types: borrow the raw fd for as long as
/// the `File` is borrowed.
fn fd(f: &File) -> BorrowedFd<'_> {
    // SAFETY: the fd is open for the lifetime of the `&File` the result borrows from.
    unsafe { BorrowedFd::borrow_raw(f.as_raw_fd()) }
}

fn io_err(e: rustix::io::Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}
