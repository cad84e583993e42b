//! Diagnostics on stderr without allocation: a small stack buffer that
//! implements fmt::Write and flushes to fd 2.

use core::fmt;

pub struct Writer {
    fd: i32,
    buf: [u8; 512],
    len: usize,
}

/// The stderr writer most diagnostics use.
pub type Stderr = Writer;

impl Writer {
    pub fn new() -> Self {
        Writer { fd: 2, buf: [0; 512], len: 0 }
    }
    pub fn stdout() -> Self {
        Writer { fd: 1, buf: [0; 512], len: 0 }
    }
    pub fn flush(&mut self) {
        crate::sys::write_fd(self.fd, &self.buf[..self.len]);
        self.len = 0;
    }
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.as_bytes().chunks(256) {
            if self.len + chunk.len() > self.buf.len() {
                self.flush();
            }
            self.buf[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
        }
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Print to stderr, formatted, without allocating.
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => {{
        let mut w = $crate::log::Stderr::new();
        let _ = core::fmt::Write::write_fmt(&mut w, format_args!($($arg)*));
    }};
}

/// Debug output, shown when GUARDLD_DEBUG selects `$cat` (or `all`/`1`).
#[macro_export]
macro_rules! debug {
    ($cat:ident, $($arg:tt)*) => {{
        if $crate::log::enabled($crate::log::Cat::$cat) {
            $crate::eprint!("guardld: {}\n", format_args!($($arg)*));
        }
    }};
}

/// GUARDLD_DEBUG categories.
#[derive(Clone, Copy)]
#[repr(u32)]
pub enum Cat {
    Map = 1,
    Libs = 2,
    Symbols = 4,
    Bindings = 8,
    Reloc = 16,
    Init = 32,
    Statistics = 64,
}

static DEBUG_MASK: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

pub fn enabled(c: Cat) -> bool {
    DEBUG_MASK.load(core::sync::atomic::Ordering::Relaxed) & c as u32 != 0
}

/// Parse GUARDLD_DEBUG: a comma list of categories; `1` or `all` = all.
pub fn set_debug(spec: &[u8]) {
    let mut mask = 0;
    for word in spec.split(|&b| b == b',' || b == b' ') {
        mask |= match word {
            b"1" | b"all" => u32::MAX,
            b"map" => Cat::Map as u32,
            b"libs" => Cat::Libs as u32,
            b"symbols" => Cat::Symbols as u32,
            b"bindings" => Cat::Bindings as u32,
            b"reloc" => Cat::Reloc as u32,
            b"init" => Cat::Init as u32,
            b"statistics" => Cat::Statistics as u32,
            _ => 0,
        };
    }
    DEBUG_MASK.store(mask, core::sync::atomic::Ordering::Relaxed);
}
