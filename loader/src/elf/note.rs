//! ELF notes: the GNU build ID (NT_GNU_BUILD_ID), which names a build
//! exactly (glibc builds are recognised by it: `crate::glibc`).

const NT_GNU_BUILD_ID: u32 = 3;
/// A note segment larger than this is not read (build IDs sit in small ones).
const MAX_NOTES: u64 = 1 << 12;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// The build ID in a PT_NOTE segment's bytes, bounds-checked.
pub fn gnu_build_id(notes: &[u8]) -> Option<&[u8]> {
    let mut at = 0usize;
    while at.checked_add(12)? <= notes.len() {
        let (namesz, descsz, ty) = (u32_at(notes, at)? as usize, u32_at(notes, at + 4)? as usize, u32_at(notes, at + 8)?);
        let name_at = at + 12;
        let desc_at = name_at.checked_add(namesz.checked_add(3)? & !3)?;
        let next = desc_at.checked_add(descsz.checked_add(3)? & !3)?;
        if ty == NT_GNU_BUILD_ID && notes.get(name_at..name_at + namesz)? == b"GNU\0" {
            return notes.get(desc_at..desc_at.checked_add(descsz)?);
        }
        at = next;
    }
    None
}

/// The build ID of the ELF file at `path` (one open, a few reads).
pub fn file_build_id(path: &core::ffi::CStr) -> Option<alloc::vec::Vec<u8>> {
    let f = crate::sys::file::open(path).ok()?;
    let (_, phdrs) = crate::map::load::read_headers(&f).ok()?;
    // Every PT_NOTE (glibc's libc has one for .note.gnu.property first).
    phdrs.iter().filter(|p| p.p_type == super::header::PT_NOTE && p.p_filesz <= MAX_NOTES).find_map(|p| {
        let mut buf = alloc::vec![0u8; p.p_filesz as usize];
        f.read_exact_at(&mut buf, p.p_offset).then_some(())?;
        gnu_build_id(&buf).map(<[u8]>::to_vec)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(name: &[u8], ty: u32, desc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(name.len() as u32).to_le_bytes());
        v.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        v.extend_from_slice(&ty.to_le_bytes());
        v.extend_from_slice(name);
        v.resize(v.len().next_multiple_of(4), 0);
        v.extend_from_slice(desc);
        v.resize(v.len().next_multiple_of(4), 0);
        v
    }

    #[test]
    fn finds_the_build_id_among_notes() {
        let mut notes = note(b"GNU\0", 1, &[0; 16]); // NT_GNU_ABI_TAG
        notes.extend(note(b"GNU\0", 3, &[0xab, 0xcd, 0xef]));
        assert_eq!(gnu_build_id(&notes), Some(&[0xab, 0xcd, 0xef][..]));
    }

    #[test]
    fn malformed_notes_give_none() {
        assert_eq!(gnu_build_id(&[]), None);
        assert_eq!(gnu_build_id(&note(b"GNU\0", 1, &[1, 2])), None);
        let mut n = note(b"GNU\0", 3, &[1, 2, 3, 4]);
        n.truncate(n.len() - 2); // descriptor cut
        assert_eq!(gnu_build_id(&n), None);
        let mut n = note(b"GNU\0", 3, &[1]);
        n[4..8].copy_from_slice(&u32::MAX.to_le_bytes()); // descsz overflows
        assert_eq!(gnu_build_id(&n), None);
        assert_eq!(gnu_build_id(&note(b"XYZ\0", 3, &[1])), None);
    }
}
