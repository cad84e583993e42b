//! Fatal errors: `guardld: <file>: <reason>` on stderr and exit 127, the
//! convention of glibc's and musl's loaders. Nothing of the program runs
//! after one.

use core::fmt::Display;

pub const EXIT_FAILURE: i32 = 127;

/// Report `reason` about `file` and exit 127.
pub fn fatal(file: impl Display, reason: impl Display) -> ! {
    crate::eprint!("guardld: {}: {}\n", file, reason);
    crate::sys::exit(EXIT_FAILURE)
}

/// A byte string (a path from argv or a file) shown lossily.
pub struct Bytes<'a>(pub &'a [u8]);

impl Display for Bytes<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}
