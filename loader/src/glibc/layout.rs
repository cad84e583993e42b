//! Reading and writing glibc's structures through the generated layouts:
//! a field is looked up by its generated name once (`Struct::at`), then
//! read or written in a byte buffer with bounds checks. No offset is typed
//! by hand anywhere in the personality.

use super::{Build, Struct};
use crate::sys::lock::SpinLock;
use core::fmt;

/// Where a field lies in its structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    pub offset: usize,
    pub size: usize,
    /// Bitfields: (bit offset, width) inside the `size`-byte unit.
    pub bits: Option<(u8, u8)>,
}

/// A field or constant the layout of a known build lacks: the build's
/// table and the personality disagree, so the build is not usable.
#[derive(Debug)]
pub struct Missing {
    pub structure: &'static str,
    pub field: &'static str,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "glibc layout table: {} has no {}", self.structure, self.field)
    }
}

/// Names found before: (table address, name address, name length, index
/// in the table), direct-mapped. The personality asks for the same literal
/// names over and over (each link map, each unwinder call); searching the
/// generated tables by string every time was a sixth of a glibc program's
/// start-up. A slot holds its whole key, so a hit is exact.
/// 128 slots of 24 bytes: under one page (each page of it touched is a
/// page fault at start-up; per-object fields are resolved once anyway).
static MEMO: SpinLock<[(usize, usize, u32, u32); 128]> = SpinLock::new([(0, 0, 0, 0); 128]);

/// The index of the entry of `table` whose `key` is `name`.
fn find<T>(table: &'static [T], name: &'static str, search: impl Fn(&'static [T], &[u8]) -> Option<usize>) -> Option<usize> {
    let k = (table.as_ptr() as usize, name.as_ptr() as usize, name.len());
    let slot = ((k.1 ^ k.0.rotate_left(17) ^ k.2).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 57) & 127;
    let (t, n, l, i) = MEMO.lock()[slot];
    let l = l as usize;
    // The same table and the same literal (address and length) name the
    // same bytes: no need to compare them again.
    if (t, n, l) == k && (i as usize) < table.len() {
        return Some(i as usize);
    }
    let i = search(table, name.as_bytes())?;
    MEMO.lock()[slot] = (k.0, k.1, k.2 as u32, i as u32);
    Some(i)
}

impl Struct {
    /// The field named `name` (nested members as `outer.inner`).
    pub fn at(&self, name: &'static str) -> Result<At, Missing> {
        let f = find(self.fields, name, |t, n| {
            let i = t.partition_point(|f| f.name.key_cmp(n).is_lt());
            t.get(i).filter(|f| f.name.is(n)).map(|_| i)
        })
        .map(|i| &self.fields[i])
        .ok_or(Missing { structure: self.name, field: name })?;
        Ok(At { offset: f.offset, size: f.size, bits: f.bits })
    }
}

impl Build {
    /// The structure generated under `name` (e.g. "struct link_map").
    pub fn structure(&self, name: &'static str) -> Result<&'static Struct, Missing> {
        find(self.structs, name, |t, n| t.iter().position(|s| s.name.as_bytes() == n)).map(|i| &self.structs[i]).ok_or(Missing { structure: "build", field: name })
    }

    /// An enumerator or size evaluated in the debug information.
    pub fn constant(&self, name: &'static str) -> Result<i64, Missing> {
        self.constant_named(name.as_bytes()).ok_or(Missing { structure: "constants", field: name })
    }

    /// The constant named `name`, if the build has it.
    pub fn constant_named(&self, name: &[u8]) -> Option<i64> {
        // The generator sorts the constants by `Name::key_cmp` (a test checks).
        self.consts.binary_search_by(|c| c.0.key_cmp(name)).ok().map(|i| self.consts[i].1)
    }

    /// The `link_map.l_info` slot of dynamic tag `tag`.
    pub fn l_info_index(&self, tag: u64) -> Option<usize> {
        // The generator emits the table sorted by tag (a test checks):
        // asked for every dynamic entry of every object.
        self.l_info.binary_search_by_key(&tag, |t| t.0).ok().map(|k| self.l_info[k].1)
    }
}

impl At {
    /// Element `i` of an array field whose elements are `elem` bytes.
    pub fn element(self, i: usize, elem: usize) -> Option<At> {
        let offset = self.offset.checked_add(i.checked_mul(elem)?)?;
        (offset + elem <= self.offset + self.size).then_some(At { offset, size: elem, bits: None })
    }

    /// A field at `delta` bytes into this one (a member of a nested
    /// structure whose own layout is generated separately).
    pub fn member(self, inner: At) -> Option<At> {
        (inner.offset + inner.size <= self.size).then_some(At { offset: self.offset + inner.offset, ..inner })
    }
}

/// Write `v` into field `a` of `buf` (little-endian; bitfields keep their
/// neighbours). False if the field lies outside `buf` or `v` does not fit.
#[must_use]
pub fn put(buf: &mut [u8], a: At, v: u64) -> bool {
    let Some(bytes) = buf.get_mut(a.offset..a.offset.saturating_add(a.size)) else { return false };
    if a.size > 8 {
        return false;
    }
    let mut unit = [0u8; 8];
    unit[..a.size].copy_from_slice(bytes);
    let old = u64::from_le_bytes(unit);
    let new = match a.bits {
        Some((bit, width)) => {
            let mask = if width >= 64 { u64::MAX } else { (1u64 << width) - 1 };
            if v & !mask != 0 || u32::from(bit) + u32::from(width) > 8 * a.size as u32 {
                return false;
            }
            (old & !(mask << bit)) | (v << bit)
        }
        None => {
            if a.size < 8 && v >> (8 * a.size) != 0 {
                return false;
            }
            v
        }
    };
    bytes.copy_from_slice(&new.to_le_bytes()[..a.size]);
    true
}

/// Read field `a` of `buf`.
pub fn get(buf: &[u8], a: At) -> Option<u64> {
    let bytes = buf.get(a.offset..a.offset.checked_add(a.size)?)?;
    if a.size > 8 {
        return None;
    }
    let mut unit = [0u8; 8];
    unit[..a.size].copy_from_slice(bytes);
    let v = u64::from_le_bytes(unit);
    Some(match a.bits {
        Some((bit, width)) if width < 64 => (v >> bit) & ((1u64 << width) - 1),
        Some((bit, _)) => v >> bit,
        None => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitfields_keep_their_neighbours() {
        let mut b = [0xffu8; 4];
        let a = At { offset: 1, size: 2, bits: Some((3, 2)) };
        assert!(put(&mut b, a, 0));
        assert_eq!(b, [0xff, 0xe7, 0xff, 0xff]);
        assert!(put(&mut b, a, 2));
        assert_eq!(get(&b, a), Some(2));
        assert!(!put(&mut b, a, 4), "wider than the field");
        assert!(!put(&mut b, At { offset: 3, size: 2, bits: None }, 1), "past the buffer");
        assert!(!put(&mut b, At { offset: 0, size: 1, bits: None }, 256));
    }

    #[test]
    fn constants_are_sorted_by_key() {
        for b in super::super::KNOWN {
            assert!(b.consts.windows(2).all(|w| w[0].0.key_cmp(w[1].0.as_bytes()).is_lt()), "{}: CONSTS not sorted", b.package);
            for c in b.consts {
                let name: &'static str = alloc::string::String::from(c.0.as_str()).leak();
                assert_eq!(b.constant(name).ok(), Some(c.1), "{}", c.0);
            }
        }
    }

    #[test]
    fn l_info_tables_are_sorted_by_tag() {
        for b in super::super::KNOWN {
            assert!(b.l_info.windows(2).all(|w| w[0].0 < w[1].0), "{}: L_INFO not sorted by tag", b.package);
            for &(tag, idx) in b.l_info {
                assert_eq!(b.l_info_index(tag), Some(idx));
            }
        }
    }

    #[test]
    fn fields_are_sorted_by_key_and_found_first_of_name() {
        for b in super::super::KNOWN {
            for s in b.structs {
                assert!(s.fields.windows(2).all(|w| w[0].name.key_cmp(w[1].name.as_bytes()).is_le()), "{}: {} not sorted", b.package, s.name);
                for (k, f) in s.fields.iter().enumerate() {
                    let name: &'static str = alloc::string::String::from(f.name.as_str()).leak();
                    let first = s.fields.iter().position(|g| g.name == f.name).unwrap();
                    let at = s.at(name).unwrap();
                    let want = &s.fields[first];
                    assert_eq!((at.offset, at.size, at.bits), (want.offset, want.size, want.bits), "{}.{} ({k})", s.name, f.name);
                    assert!(core::ptr::eq(s.field(name).unwrap(), want));
                }
                assert!(s.at("no such field").is_err());
            }
        }
    }

    #[test]
    fn known_build_has_what_the_personality_names() {
        let b = &super::super::debian12::BUILD;
        let lm = b.structure("struct link_map").unwrap();
        assert_eq!(lm.at("l_type").unwrap().bits, Some((0, 2)));
        assert_eq!(b.constant("L_INFO_LEN").unwrap() as usize * 8, lm.at("l_info").unwrap().size);
        let gnu = b.l_info_index(0x6fff_fef5).unwrap();
        assert!(lm.at("l_info").unwrap().element(gnu, 8).is_some());
    }
}
