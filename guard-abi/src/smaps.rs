//! `/proc/PID/smaps`: per VMA, its maps line then `Key: value` lines, the last of them
//! `VmFlags: rd wr mr ...` (two-letter mnemonics, fs/proc/task_mmu.c show_smap_vma_flags).

use crate::lex;
use crate::maps::{MapsEntry, parse_maps_line};

/// The VmFlags mnemonic of a VMA that has, or had, guard regions (6.19, 6.18.37+). Sticky: it
/// stays after MADV_GUARD_REMOVE, and it says nothing about where the guards are.
pub const VM_FLAG_GUARD: &str = "gu";

/// The mnemonics after `VmFlags:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmFlags<'a>(pub &'a [u8]);

impl<'a> VmFlags<'a> {
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.split(|&b| b == b' ').filter(|f| !f.is_empty())
    }

    pub fn contains(&self, flag: &str) -> bool {
        self.iter().any(|f| f == flag.as_bytes())
    }

    /// `gu`: see [`VM_FLAG_GUARD`].
    pub fn has_guard(&self) -> bool {
        self.contains(VM_FLAG_GUARD)
    }
}

/// One VMA of smaps: its header and its VmFlags line, if the block had one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmapsVma<'a> {
    pub entry: MapsEntry<'a>,
    pub flags: Option<VmFlags<'a>>,
}

/// The VMAs of an smaps text. Lines before the first header, and unknown lines, are skipped.
pub fn smaps_vmas(text: &[u8]) -> SmapsIter<'_> {
    SmapsIter {
        lines: text.split(newline as fn(&u8) -> bool),
        cur: None,
    }
}

// A named fn pointer keeps the `Split` type nameable in the iterator's struct.
fn newline(b: &u8) -> bool {
    *b == b'\n'
}

pub struct SmapsIter<'a> {
    lines: core::slice::Split<'a, u8, fn(&u8) -> bool>,
    cur: Option<SmapsVma<'a>>,
}

impl<'a> Iterator for SmapsIter<'a> {
    type Item = SmapsVma<'a>;

    fn next(&mut self) -> Option<SmapsVma<'a>> {
        for line in self.lines.by_ref() {
            if let Some(flags) = line.strip_prefix(b"VmFlags:") {
                if let Some(v) = self.cur.as_mut() {
                    v.flags = Some(VmFlags(lex::skip_spaces(flags)));
                }
            } else if let Some(entry) = parse_maps_line(line) {
                // A new header ends the previous block.
                if let Some(done) = self.cur.replace(SmapsVma { entry, flags: None }) {
                    return Some(done);
                }
            }
        }
        self.cur.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const TEXT: &[u8] = b"\
55d0c0000000-55d0c0001000 r--p 00000000 08:01 12 /bin/x
Size:                  4 kB
VmFlags: rd mr mw me gu 
7f0000000000-7f0000002000 ---p 00000000 00:00 0 
Size:                  8 kB
VmFlags: mr mw me
7f0000002000-7f0000003000 rw-p 00000000 00:00 0 
Rss:                   4 kB
";

    #[test]
    fn flags_per_vma() {
        let v: Vec<_> = smaps_vmas(TEXT).collect();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].entry.path, b"/bin/x");
        assert!(v[0].flags.unwrap().has_guard());
        assert_eq!(v[0].flags.unwrap().iter().count(), 5);
        assert!(!v[1].flags.unwrap().has_guard());
        assert!(v[1].flags.unwrap().contains("mw"));
        assert_eq!(v[2].flags, None);
    }

    #[test]
    fn malformed_text() {
        assert_eq!(smaps_vmas(b"").count(), 0);
        assert_eq!(smaps_vmas(b"VmFlags: gu\nSize: 4 kB\n").count(), 0);
        assert_eq!(
            smaps_vmas(b"\xff\xfe\n1-2 r--p 0 0:0 0\nVmFlags:")
                .next()
                .unwrap()
                .flags,
            Some(VmFlags(b""))
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            for v in smaps_vmas(&text) {
                let _ = v.flags.map(|f| f.has_guard());
            }
        }
    }
}
