//! The guard-region ABI of Linux and the `/proc` readers that see guards.
//!
//! Guard regions (`madvise(MADV_GUARD_INSTALL)`, 6.13+; file mappings 6.15+) are page-table
//! markers: no VMA is created, so `/proc/PID/maps` cannot show them. They are seen through
//! `/proc/PID/pagemap` bit 58, the `PAGEMAP_SCAN` ioctl (category `PAGE_IS_GUARD`, 6.16+) and
//! the smaps `gu` VmFlag (6.19, 6.18.37+). This crate holds those numbers and layouts once, and
//! the parsers for the text files next to them.
//!
//! * always (`no_std`, no allocation): [`abi`] constants and argument structs, [`maps`] and
//!   [`smaps`] parsers over byte slices, [`pagemap`] entry decoding, and [`link`], the public
//!   `struct link_map` head the loader and the audit module share;
//! * feature `rustix`: [`sys`], syscall wrappers that take an open fd and caller buffers.
//!
//! Host tools and tests use the sibling crate `guard-abi-host` (guard-abi/host/): per-pid
//! readers returning owned data.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
mod lex;
pub mod link;
pub mod maps;
pub mod pagemap;
pub mod smaps;

#[cfg(feature = "rustix")]
pub mod sys;

pub use abi::*;
pub use maps::{Dev, Malformed, MapsEntry, MapsIter, Perms, maps_entries, parse_maps_line};
pub use pagemap::{is_guard_entry, pagemap_offset};
pub use smaps::{SmapsIter, SmapsVma, VM_FLAG_GUARD, VmFlags, smaps_vmas};
