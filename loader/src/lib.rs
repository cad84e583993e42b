//! guardld: a dynamic loader that covers segment padding with guard regions.
//!
//! The crate is `no_std` (it runs before any libc exists); under `cargo test`
//! it links std so the pure stages (ELF parsing, mapping plans) can be
//! unit-tested on the host. The binary (`main.rs`) only holds the entry point,
//! the panic handler and the allocator; every stage lives here.
//!
//! The unsafe boundary: `unsafe` is denied here and allowed, module by
//! module, only where raw memory or the machine must be touched; each
//! `#[allow(unsafe_code)]` below and in the stage directories says why
//! (docs/architecture.md lists them). Every unsafe block says what makes it
//! sound (clippy's undocumented_unsafe_blocks is denied).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

/// The exported C entry points (dl*, guardld_*, _r_debug): thin wrappers
/// that convert C arguments and call `runtime`.
#[allow(unsafe_code)]
pub mod api;
/// The instructions: syscall, %fs, the jump to the program, calls into
/// object code.
#[allow(unsafe_code)]
pub mod arch;
pub mod debugger;
pub mod elf;
pub mod error;
pub mod glibc;
pub mod link;
pub mod log;
pub mod map;
pub mod runtime;
/// Relocating guardld itself before anything may be assumed.
#[allow(unsafe_code)]
pub mod selfreloc;
pub mod start;
pub mod stats;
pub mod sys;
/// The thread control block and TLS area memory.
#[allow(unsafe_code)]
pub mod tcb;
pub mod tls;
