//! Architecture-specific pieces: tiny asm helpers, called from portable code.
mod x86_64;
pub use x86_64::*;
