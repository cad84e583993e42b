//! Owned maps entries, and the range and path questions tools and tests ask of them.

use crate::proc_path;
use guard_abi::{Dev, MapsEntry, Perms, maps_entries};
use std::fmt;
use std::io;

/// One line of `/proc/PID/maps`, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub perms: Perms,
    pub offset: u64,
    pub dev: Dev,
    pub inode: u64,
    /// Path or pseudo name; None when the line has none. Bytes that are not UTF-8 are
    /// replaced (U+FFFD): use the core parser for the exact bytes.
    pub path: Option<String>,
}

impl Vma {
    pub fn from_entry(e: &MapsEntry<'_>) -> Vma {
        Vma {
            start: e.start,
            end: e.end,
            perms: e.perms,
            offset: e.offset,
            dev: e.dev,
            inode: e.inode,
            path: (!e.path.is_empty()).then(|| String::from_utf8_lossy(e.path).into_owned()),
        }
    }

    pub fn size(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// Intersects `[start, end)`.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start < end && start < self.end
    }

    /// Backed by a file: an inode and a path that is not a `[pseudo]` name.
    pub fn is_file(&self) -> bool {
        self.inode != 0 && self.path.as_deref().is_some_and(|p| !p.starts_with('['))
    }

    /// `---p`: a PROT_NONE private VMA, the gap a loader reserves between segments.
    pub fn is_gap(&self) -> bool {
        self.perms == Perms::NONE_PRIVATE
    }

    pub fn path_is(&self, path: &str) -> bool {
        self.path.as_deref() == Some(path)
    }
}

impl From<MapsEntry<'_>> for Vma {
    fn from(e: MapsEntry<'_>) -> Vma {
        Vma::from_entry(&e)
    }
}

/// The line as the kernel prints it (show_map_vma: the header padded to 72 columns, then one
/// space, before a name), without the newline.
impl fmt::Display for Vma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = format!(
            "{:08x}-{:08x} {} {:08x} {} {} ",
            self.start, self.end, self.perms, self.offset, self.dev, self.inode
        );
        match &self.path {
            Some(p) => write!(f, "{head:<72} {p}"),
            None => f.write_str(&head),
        }
    }
}

/// Parses a whole maps text; the first malformed line is an `InvalidData` error.
pub fn parse_maps(text: &[u8]) -> io::Result<Vec<Vma>> {
    maps_entries(text)
        .map(|r| {
            r.map(Vma::from)
                .map_err(|m| io::Error::new(io::ErrorKind::InvalidData, m.to_string()))
        })
        .collect()
}

/// `/proc/PID/maps`, parsed.
pub fn read_maps(pid: u32) -> io::Result<Vec<Vma>> {
    read_maps_text(pid).map(|(_, v)| v)
}

/// `/proc/PID/maps` as read (for messages) and parsed, from one read.
pub fn read_maps_text(pid: u32) -> io::Result<(String, Vec<Vma>)> {
    let bytes = std::fs::read(proc_path(pid, "maps"))?;
    let vmas = parse_maps(&bytes)?;
    Ok((String::from_utf8_lossy(&bytes).into_owned(), vmas))
}

/// The VMAs intersecting `[start, end)`.
pub fn vmas_in(vmas: &[Vma], start: u64, end: u64) -> impl Iterator<Item = &Vma> {
    vmas.iter().filter(move |v| v.overlaps(start, end))
}

/// `---p` VMAs intersecting `[start, end)`.
pub fn count_gaps_in(vmas: &[Vma], start: u64, end: u64) -> usize {
    vmas_in(vmas, start, end).filter(|v| v.is_gap()).count()
}

pub fn vma_at(vmas: &[Vma], addr: u64) -> Option<&Vma> {
    vmas.iter().find(|v| v.contains(addr))
}

/// The VMAs mapping the file at `path` (as maps prints it).
pub fn vmas_of<'a>(vmas: &'a [Vma], path: &'a str) -> impl Iterator<Item = &'a Vma> {
    vmas.iter().filter(move |v| v.path_is(path))
}

/// Lowest start of a VMA of `path`: an object's load base when its first segment maps file
/// offset 0 at link address 0.
pub fn base_of(vmas: &[Vma], path: &str) -> Option<u64> {
    vmas_of(vmas, path).map(|v| v.start).min()
}

/// `[lowest start, highest end)` of the VMAs of `path`.
pub fn span_of(vmas: &[Vma], path: &str) -> Option<(u64, u64)> {
    let lo = base_of(vmas, path)?;
    let hi = vmas_of(vmas, path).map(|v| v.end).max()?;
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_the_kernel() {
        let lines = [
            "55d0c0000000-55d0c0001000 r--p 00000000 08:01 1316                       /usr/bin/cat",
            "7ffd1000-7ffd2000 ---p 00000000 00:00 0 ",
            "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
        ];
        for l in lines {
            let v = parse_maps(l.as_bytes()).unwrap();
            assert_eq!(v[0].to_string(), l);
        }
    }

    #[test]
    fn range_questions() {
        let v = parse_maps(
            b"1000-3000 r--p 0 08:01 5 /l\n3000-5000 ---p 0 00:00 0 \n5000-6000 rw-p 2000 08:01 5 /l\n",
        )
        .unwrap();
        assert_eq!(vmas_in(&v, 0x2000, 0x5001).count(), 3);
        assert_eq!(count_gaps_in(&v, 0, u64::MAX), 1);
        assert_eq!(vma_at(&v, 0x4fff).map(|v| v.start), Some(0x3000));
        assert_eq!(vma_at(&v, 0x6000), None);
        assert_eq!(span_of(&v, "/l"), Some((0x1000, 0x6000)));
        assert_eq!(base_of(&v, "/x"), None);
        assert!(v[0].is_file() && !v[1].is_file() && v[1].is_gap());
        let e = parse_maps(b"1000-2000 r--p 0 00:00 0\nnope\n").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
