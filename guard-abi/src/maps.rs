//! `/proc/PID/maps` lines: `start-end perms offset major:minor inode<spaces>path`, as
//! fs/proc/task_mmu.c (show_vma_header_prefix, show_map_vma) prints them.

use crate::lex;
use core::fmt;

/// The four permission characters: `r`/`-`, `w`/`-`, `x`/`-`, `s` (VM_MAYSHARE) or `p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub shared: bool,
}

impl Perms {
    /// `---p`: what a loader's PROT_NONE gap between segments looks like.
    pub const NONE_PRIVATE: Perms = Perms {
        read: false,
        write: false,
        exec: false,
        shared: false,
    };

    /// Exactly four characters in the kernel's alphabet, else None.
    pub fn parse(s: &[u8]) -> Option<Perms> {
        let flag = |c: Option<&u8>, yes: u8| match c {
            Some(&b) if b == yes => Some(true),
            Some(b'-') => Some(false),
            _ => None,
        };
        if s.len() != 4 {
            return None;
        }
        Some(Perms {
            read: flag(s.first(), b'r')?,
            write: flag(s.get(1), b'w')?,
            exec: flag(s.get(2), b'x')?,
            shared: match s.get(3) {
                Some(b's') => true,
                Some(b'p') => false,
                _ => return None,
            },
        })
    }

    /// No access at all (`---p` or `---s`).
    pub const fn is_prot_none(&self) -> bool {
        !self.read && !self.write && !self.exec
    }

    /// The four characters as the kernel prints them.
    pub const fn as_bytes(&self) -> [u8; 4] {
        [
            if self.read { b'r' } else { b'-' },
            if self.write { b'w' } else { b'-' },
            if self.exec { b'x' } else { b'-' },
            if self.shared { b's' } else { b'p' },
        ]
    }
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            fmt::Write::write_char(f, b as char)?;
        }
        Ok(())
    }
}

/// A device number as maps prints it (`%02x:%02x` of MAJOR and MINOR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Dev {
    pub major: u32,
    pub minor: u32,
}

impl Dev {
    pub fn parse(s: &[u8]) -> Option<Dev> {
        let (ma, mi) = lex::split_once(s, b':')?;
        Some(Dev {
            major: u32::try_from(lex::hex(ma)?).ok()?,
            minor: u32::try_from(lex::hex(mi)?).ok()?,
        })
    }
}

impl fmt::Display for Dev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}", self.major, self.minor)
    }
}

/// One VMA, borrowed from the text it was parsed from (or from a `PROCMAP_QUERY` name buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapsEntry<'a> {
    pub start: u64,
    pub end: u64,
    pub perms: Perms,
    /// File offset of `start` (page offset << PAGE_SHIFT; 0 for most anonymous VMAs).
    pub offset: u64,
    pub dev: Dev,
    pub inode: u64,
    /// File path, ` (deleted)` suffix included, or a pseudo name (`[heap]`, `[anon:x]`...);
    /// empty when the VMA has none. May contain spaces and need not be UTF-8.
    pub path: &'a [u8],
}

impl MapsEntry<'_> {
    /// Backed by a file: an inode and a path that is not a `[pseudo]` name.
    pub fn is_file(&self) -> bool {
        self.inode != 0 && !self.path.is_empty() && self.path.first() != Some(&b'[')
    }
}

/// Parses one maps line (without its `\n`). None if any field is missing or malformed, or
/// `end < start`. The path is the rest of the line after the inode and its padding, kept as
/// is (a trailing space in a file name is part of it).
pub fn parse_maps_line(line: &[u8]) -> Option<MapsEntry<'_>> {
    let (range, rest) = lex::field(line)?;
    let (perms, rest) = lex::field(rest)?;
    let (offset, rest) = lex::field(rest)?;
    let (dev, rest) = lex::field(rest)?;
    let (inode, rest) = lex::field(rest)?;
    let (start, end) = lex::split_once(range, b'-')?;
    let (start, end) = (lex::hex(start)?, lex::hex(end)?);
    if end < start {
        return None;
    }
    Some(MapsEntry {
        start,
        end,
        perms: Perms::parse(perms)?,
        offset: lex::hex(offset)?,
        dev: Dev::parse(dev)?,
        inode: lex::dec(inode)?,
        path: lex::skip_spaces(rest),
    })
}

/// A line that [`parse_maps_line`] refused, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed<'a>(pub &'a [u8]);

impl fmt::Display for Malformed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unparsable maps line: \"")?;
        for c in self.0.utf8_chunks() {
            write!(f, "{}", c.valid().escape_debug())?;
            for b in c.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str("\"")
    }
}

/// The VMAs of a whole maps text, one `Result` per non-empty line: a caller may stop at the
/// first malformed line or skip it.
pub fn maps_entries(text: &[u8]) -> MapsIter<'_> {
    MapsIter { text }
}

#[derive(Debug, Clone)]
pub struct MapsIter<'a> {
    text: &'a [u8],
}

impl<'a> Iterator for MapsIter<'a> {
    type Item = Result<MapsEntry<'a>, Malformed<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.text.is_empty() {
                return None;
            }
            let (line, rest) = lex::split_once(self.text, b'\n').unwrap_or((self.text, &[]));
            self.text = rest;
            if !line.is_empty() {
                return Some(parse_maps_line(line).ok_or(Malformed(line)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn parses_kernel_lines() {
        let e = parse_maps_line(b"7f1c2a400000-7f1c2a428000 r--p 00000000 08:01 1316                       /usr/lib/x86_64-linux-gnu/libc.so.6").unwrap();
        assert_eq!(
            (e.start, e.end, e.offset, e.inode),
            (0x7f1c2a400000, 0x7f1c2a428000, 0, 1316)
        );
        assert_eq!(e.perms.to_string(), "r--p");
        assert_eq!(e.dev, Dev { major: 8, minor: 1 });
        assert_eq!(e.path, b"/usr/lib/x86_64-linux-gnu/libc.so.6");
        assert!(e.is_file());
        let e = parse_maps_line(b"7ffd1000-7ffd2000 ---p 00000000 00:00 0 ").unwrap();
        assert_eq!(e.path, b"");
        assert!(e.perms.is_prot_none() && e.perms == Perms::NONE_PRIVATE);
        assert!(!e.is_file());
        let e = parse_maps_line(b"1000-2000 rw-s 00000000 00:00 0    [heap]").unwrap();
        assert_eq!(e.path, b"[heap]");
        assert!(e.perms.shared && !e.is_file());
        let e =
            parse_maps_line(b"1000-2000 r--p 00001000 103:2a 77    /tmp/a b (deleted)").unwrap();
        assert_eq!(e.path, b"/tmp/a b (deleted)");
        assert_eq!(e.dev.to_string(), "103:2a");
        assert_eq!(e.offset, 0x1000);
    }

    #[test]
    fn refuses_malformed_lines() {
        for l in [
            &b""[..],
            b"garbage",
            b"1000-2000",
            b"1000-2000 r--p",
            b"1000-2000 r--p 0 00:00",
            b"2000-1000 r--p 0 00:00 0",
            b"1000 r--p 0 00:00 0",
            b"1000-2000 r--q 0 00:00 0",
            b"1000-2000 r--pp 0 00:00 0",
            b"1000-2000 rw- 0 00:00 0",
            b"1000-2000 r--p 0x0 00:00 0",
            b"1000-2000 r--p 0 0000 0",
            b"1000-2000 r--p 0 00:00 -1",
            b"1000-2000 r--p 0 00:1ffffffff 0",
            b"g000-2000 r--p 0 00:00 0",
            b"1000-10000000000000000 r--p 0 00:00 0",
        ] {
            assert_eq!(parse_maps_line(l), None, "{:?}", core::str::from_utf8(l));
        }
    }

    #[test]
    fn iterates_and_reports_bad_lines() {
        let text = b"1000-2000 r--p 0 00:00 0\n\nbad\n3000-4000 rw-p 0 00:00 0 [stack]";
        let v: std::vec::Vec<_> = maps_entries(text).collect();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].unwrap().start, 0x1000);
        assert_eq!(v[1], Err(Malformed(b"bad")));
        assert_eq!(
            v[1].unwrap_err().to_string(),
            "unparsable maps line: \"bad\""
        );
        assert_eq!(v[2].unwrap().path, b"[stack]");
    }

    proptest::proptest! {
        /// Any bytes: no panic, and whatever parses has end >= start.
        #[test]
        fn never_panics(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
            if let Some(e) = parse_maps_line(&line) {
                proptest::prop_assert!(e.end >= e.start);
            }
            let _ = maps_entries(&line).count();
        }

        /// What the kernel prints parses back to the same fields.
        #[test]
        fn round_trips(a in 0u64..(1 << 47), len in 0u64..(1 << 30), p in 0u8..16, off in proptest::prelude::any::<u64>(),
                       ma in 0u32..0x1000, mi in 0u32..0x10_0000, ino in proptest::prelude::any::<u64>(), path in "[ -~]{0,40}") {
            let perms = Perms { read: p & 1 != 0, write: p & 2 != 0, exec: p & 4 != 0, shared: p & 8 != 0 };
            let dev = Dev { major: ma, minor: mi };
            let line = std::format!("{:08x}-{:08x} {perms} {off:08x} {dev} {ino} {path}", a, a + len);
            let e = parse_maps_line(line.as_bytes()).unwrap();
            proptest::prop_assert_eq!((e.start, e.end, e.perms, e.offset, e.dev, e.inode), (a, a + len, perms, off, dev, ino));
            proptest::prop_assert_eq!(e.path, path.trim_start_matches(' ').as_bytes());
        }
    }
}
