//! Reading and writing glibc's structures through the generated layouts:
//! a field is looked up by its generated name once (`Struct::at`), then
//! read or written in a byte buffer with bounds checks. No offset is typed
//! by hand anywhere in the personality.

use super::{Build, Struct};
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

impl Struct {
    /// The field named `name` (nested members as `outer.inner`).
    pub fn at(&self, name: &'static str) -> Result<At, Missing> {
        let f = self.field(name).ok_or(Missing { structure: self.name, field: name })?;
        Ok(At { offset: f.offset, size: f.size, bits: f.bits })
    }
}

impl Build {
    /// The structure generated under `name` (e.g. "struct link_map").
    pub fn structure(&self, name: &'static str) -> Result<&'static Struct, Missing> {
        self.structs.iter().find(|s| s.name == name).ok_or(Missing { structure: "build", field: name })
    }

    /// An enumerator or size evaluated in the debug information.
    pub fn constant(&self, name: &'static str) -> Result<i64, Missing> {
        self.constant_named(name.as_bytes()).ok_or(Missing { structure: "constants", field: name })
    }

    /// The constant named `name`, if the build has it.
    pub fn constant_named(&self, name: &[u8]) -> Option<i64> {
        // The generator sorts the constants by `name_key` (a test checks).
        let c = self.consts.get(super::find_key(self.const_keys, name)?)?;
        debug_assert!(c.0.is(name), "key of a constant found {}", c.0);
        Some(c.1)
    }

    /// The `link_map.l_info` slot of dynamic tag `tag`.
    pub fn l_info_index(&self, tag: u64) -> Option<usize> {
        // The generator emits the table sorted by distinct tags (a test
        // checks): asked for every dynamic entry of every object. Tag t
        // then sits at position t at most, below it by the number of
        // smaller tags the table skips: a few steps down for the common
        // tags.
        if tag < 64 {
            let mut k = (tag as usize + 1).min(self.l_info.len());
            while let Some(j) = k.checked_sub(1) {
                let (t, i) = self.l_info[j];
                if t <= tag {
                    return (t == tag).then_some(i);
                }
                k = j;
            }
            return None;
        }
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
            assert_eq!(b.const_keys.len(), b.consts.len());
            assert!(b.const_keys.windows(2).all(|w| w[0] < w[1]), "{}: CONST_KEYS not sorted or not distinct", b.package);
            assert!(b.consts.iter().zip(b.const_keys).all(|(c, &k)| super::super::name_key(c.0.as_bytes()) == k), "{}: a constant's key is not its name's", b.package);
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
            // Tags the table lacks (the small ones are found by stepping
            // down from their own position) are not found.
            for tag in (0..80).chain([0x6fff_fdff, 0x7000_0000, u64::MAX]) {
                let want = b.l_info.iter().find(|t| t.0 == tag).map(|t| t.1);
                assert_eq!(b.l_info_index(tag), want, "{}: tag {tag:#x}", b.package);
            }
        }
    }

    #[test]
    fn fields_are_sorted_by_distinct_keys_and_found_by_name() {
        for b in super::super::KNOWN {
            for s in b.structs {
                assert_eq!(s.keys.len(), s.fields.len(), "{}: {}", b.package, s.name);
                assert!(s.keys.windows(2).all(|w| w[0] < w[1]), "{}: {} keys not sorted or not distinct", b.package, s.name);
                assert!(s.fields.iter().zip(s.keys).all(|(f, &k)| super::super::name_key(f.name.as_bytes()) == k), "{}: {}: a key is not its name's", b.package, s.name);
                for (k, f) in s.fields.iter().enumerate() {
                    let name: &'static str = alloc::string::String::from(f.name.as_str()).leak();
                    let at = s.at(name).unwrap();
                    assert_eq!((at.offset, at.size, at.bits), (f.offset, f.size, f.bits), "{}.{} ({k})", s.name, f.name);
                    assert!(core::ptr::eq(s.field(name).unwrap(), f));
                }
                assert!(s.at("no such field").is_err());
                // Every other structure's names (a name one table lacks and
                // another has) are absent here, or this table's own.
                for o in b.structs {
                    for g in o.fields {
                        if let Some(f) = s.field(g.name.as_str()) {
                            assert_eq!(f.name, g.name, "{} found {} for {}", s.name, f.name, g.name);
                        }
                    }
                }
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
