//! guardld: a dynamic loader that covers segment padding with guard regions.
//!
//! The crate is `no_std` (it runs before any libc exists); under `cargo test`
//! it links std so the pure stages (ELF parsing, mapping plans) can be
//! unit-tested on the host. The binary (`main.rs`) only holds the entry point,
//! the panic handler and the allocator; every stage lives here.
//!
//! The unsafe boundary: `unsafe` is denied here and allowed, with an inner
//! `#![allow(unsafe_code)]` saying why, only in the modules that must touch
//! raw memory or the machine: arch/x86_64, selfreloc, sys/{raw, arena,
//! lock, mem}, elf/{pod, image}, map/exec, start/stack, tcb, link/init and
//! api (docs/architecture.md lists them with their reasons). Every unsafe
//! block says what makes it sound (clippy's undocumented_unsafe_blocks is
//! denied).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

/// The exported C entry points (dl*, guardld_*, _r_debug): thin wrappers
/// that convert C arguments and call `runtime`.
pub mod api;
/// The instructions: syscall, %fs, the jump to the program, calls into
/// object code.
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
pub mod selfreloc;
pub mod start;
pub mod stats;
pub mod sys;
/// The thread control block and TLS area memory.
pub mod tcb;
pub mod tls;
