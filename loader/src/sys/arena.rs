//! A bump allocator on anonymous mmap chunks: the loader allocates a few
//! hundred small records per object and frees little at start-up. Every
//! request is rounded up to its size class (powers of two to 128 bytes,
//! then four classes per power of two: at most 25 % more), and a freed
//! block goes on its class's free list, where any later request of that
//! class takes it: dlopen/dlclose cycles reuse memory instead of growing
//! for ever (with lists by floor(log2 size), a vector a little longer on
//! each cycle never found a block and grew the arena by some 17 KB a
//! cycle). The most recent allocation is simply given back, and a large
//! request's own mapping is unmapped. A spin lock keeps it sound if a
//! program calls into guardld's runtime API from several threads.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): The global allocator (mmap'd chunks).

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};
use super::lock::SpinLock;
use rustix::mm::{MapFlags, ProtFlags, mmap_anonymous};

/// Virtual size of one chunk: only touched pages cost memory, and every
/// chunk is a VMA, so chunks are large (a 100-library dlopen zygote fits
/// in one).
const CHUNK: usize = 1 << 20;

/// Size classes: 16, 32, 64, 128, then 4 per power of two up to the
/// largest request the chunks serve (`own_mapping`: CHUNK / 4 = 2^18).
const CLASSES: usize = 4 + 4 * 11;

struct State {
    next: usize,
    end: usize,
    last: usize,
    /// Heads of the free lists (0: empty); each free block's first word
    /// holds the next one.
    free: [usize; CLASSES],
}

/// Whether a request gets a mapping of its own (and gives it back).
fn own_mapping(size: usize, align: usize) -> bool {
    size + align > CHUNK / 4
}

/// The size class of a `size`-byte request: (list index, class bytes);
/// every block of a class holds its class bytes.
fn class(size: usize) -> Option<(usize, usize)> {
    let size = size.max(16);
    // 2^bits is the first power of two >= size.
    let bits = (size - 1).ilog2() + 1;
    if bits <= 7 {
        return Some(((bits - 4) as usize, 1 << bits));
    }
    let base = 1usize << (bits - 1);
    let step = base / 4;
    let n = (size - base).div_ceil(step);
    let k = 4 + (bits as usize - 8) * 4 + (n - 1);
    (k < CLASSES).then_some((k, base + n * step))
}

pub struct Arena {
    state: SpinLock<State>,
}

impl Arena {
    pub const fn new() -> Self {
        Arena { state: SpinLock::new(State { next: 0, end: 0, last: 0, free: [0; CLASSES] }) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock())
    }
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

fn fresh_chunk(size: usize) -> Option<usize> {
    // SAFETY: a new anonymous mapping aliases nothing.
    let p = unsafe { mmap_anonymous(core::ptr::null_mut(), size, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE) };
    let p = p.ok().map(|p| p as usize)?;
    super::place::mapped(p);
    Some(p)
}

/// Bytes handed out from chunks (the pages start-up made the kernel
/// zero) and chunks mapped, for GUARDLD_DEBUG=statistics. Written under
/// the arena's lock (plain stores, no read-modify-write).
static BUMPED: AtomicUsize = AtomicUsize::new(0);
static CHUNKS: AtomicUsize = AtomicUsize::new(0);

fn bumped(bytes: usize, chunks: usize) {
    BUMPED.store(BUMPED.load(Ordering::Relaxed).wrapping_add(bytes), Ordering::Relaxed);
    CHUNKS.store(CHUNKS.load(Ordering::Relaxed) + chunks, Ordering::Relaxed);
}

/// (bytes handed out from chunks, chunks mapped).
pub fn footprint() -> (usize, usize) {
    (BUMPED.load(Ordering::Relaxed), CHUNKS.load(Ordering::Relaxed))
}

// SAFETY: returns unique, aligned, mapped memory or null.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size().max(1), layout.align());
        if own_mapping(size, align) {
            // The kernel rounds the length up to whole pages.
            let want = size + align;
            return fresh_chunk(want).map_or(core::ptr::null_mut(), |p| ((p + align - 1) & !(align - 1)) as *mut u8);
        }
        let Some((k, size)) = class(size) else { return core::ptr::null_mut() };
        self.with(|s| {
            // A freed block of this class (the head of its list, if
            // aligned enough).
            let p = s.free[k];
            if p != 0 && p.is_multiple_of(align) {
                // SAFETY: `p` is a free block of ours (at least 16 bytes,
                // 8-aligned): its first word is the list link.
                s.free[k] = unsafe { (p as *const usize).read() };
                return p as *mut u8;
            }
            let start = (s.next + align - 1) & !(align - 1);
            if s.next != 0 && start.checked_add(size).is_some_and(|e| e <= s.end) {
                bumped(start + size - s.next, 0);
                s.next = start + size;
                s.last = start;
                return start as *mut u8;
            }
            let Some(chunk) = fresh_chunk(CHUNK) else { return core::ptr::null_mut() };
            let start = (chunk + align - 1) & !(align - 1);
            bumped(start + size - chunk, 1);
            s.next = start + size;
            s.end = chunk + CHUNK;
            s.last = start;
            start as *mut u8
        })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let (size, align) = (layout.size().max(1), layout.align());
        if own_mapping(size, align) {
            // A mapping of its own (alloc), page-aligned at `ptr` unless the
            // alignment asked for more than a page (then it stays).
            if align <= 4096 {
                // SAFETY: `ptr` is the start of `fresh_chunk(size + align)`.
                let _ = unsafe { rustix::mm::munmap(ptr.cast(), size + align) };
            }
            return;
        }
        self.with(|s| {
            if ptr as usize == s.last && s.last != 0 {
                bumped((s.next - s.last).wrapping_neg(), 0);
                s.next = s.last;
                s.last = 0;
                return;
            }
            let p = ptr as usize;
            if let Some((k, _)) = class(size).filter(|_| p.is_multiple_of(8)) {
                // SAFETY: the caller gives back a block of its class's
                // bytes (>= 16) it no longer uses: its first word becomes
                // the link.
                unsafe { (p as *mut usize).write(s.free[k]) };
                s.free[k] = p;
            }
        })
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Grow in place when `ptr` is the last allocation (the common Vec
        // push case), unless the new size must have a mapping of its own
        // (dealloc would unmap it).
        let own = own_mapping(new_size.max(1), layout.align());
        // The block then holds the new size's class bytes.
        let class_bytes = class(new_size.max(1)).map_or(usize::MAX, |c| c.1);
        let grown = self.with(|s| {
            if !own && ptr as usize == s.last && s.last.checked_add(class_bytes).is_some_and(|e| e <= s.end) {
                bumped((s.last + class_bytes).wrapping_sub(s.next), 0);
                s.next = s.last + class_bytes;
                true
            } else {
                false
            }
        });
        if grown {
            return ptr;
        }
        // SAFETY: as GlobalAlloc's default: new block, copy, free the old one.
        unsafe {
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every request fits its class; classes grow with the size, waste at
    /// most 25 % past 128 bytes, and every class up to the chunks' largest
    /// request is used.
    #[test]
    fn classes_hold_their_requests() {
        let mut last = (0, 0);
        let mut seen = [false; CLASSES];
        for size in 1..=CHUNK / 4 {
            let (k, bytes) = class(size).unwrap_or_else(|| panic!("no class for {size}"));
            assert!(bytes >= size && bytes % 16 == 0, "{size} -> {bytes}");
            assert!(size <= 128 || bytes * 4 <= size * 5, "{size} -> {bytes}: more than 25 % waste");
            assert!((k, bytes) >= last, "classes out of order at {size}");
            assert_eq!(class(bytes), Some((k, bytes)), "a class's own size is in it");
            last = (k, bytes);
            seen[k] = true;
        }
        assert!(seen.iter().all(|&s| s), "unused classes: {seen:?}");
    }
}
