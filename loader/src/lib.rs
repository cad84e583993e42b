//! guardld: a dynamic loader that covers segment padding with guard regions.
//!
//! The crate is `no_std` (it runs before any libc exists); under `cargo test`
//! it links std so the pure stages (ELF parsing, mapping plans) can be
//! unit-tested on the host. The binary (`main.rs`) only holds the entry point,
//! the panic handler and the allocator; every stage lives here.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod api;
pub mod arch;
pub mod debug;
pub mod elf;
pub mod error;
pub mod link;
pub mod log;
pub mod map;
pub mod runtime;
pub mod selfreloc;
pub mod start;
pub mod stats;
pub mod sys;
pub mod tcb;
pub mod tls;
