//! A bump allocator on anonymous mmap chunks: the loader allocates a few
//! hundred small records per object and frees little at start-up. Freed
//! blocks go on free lists by size class (a block of `s` bytes on list
//! floor(log2 s)) and serve later requests of at most that class's size,
//! so dlopen/dlclose cycles reuse memory instead of growing for ever; the
//! most recent allocation is simply given back, and a large request's own
//! mapping is unmapped. A spin lock keeps it sound if a program calls into
//! guardld's runtime API from several threads.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): The global allocator (mmap'd chunks).

use core::alloc::{GlobalAlloc, Layout};
use super::lock::SpinLock;
use rustix::mm::{MapFlags, ProtFlags, mmap_anonymous};

/// Virtual size of one chunk: only touched pages cost memory, and every
/// chunk is a VMA, so chunks are large (a 100-library dlopen zygote fits
/// in one).
const CHUNK: usize = 1 << 20;

/// Free lists for blocks of 2^4 .. 2^(4 + CLASSES - 1) bytes and more.
const CLASSES: usize = 20;
const MIN_CLASS_BITS: u32 = 4;

struct State {
    next: usize,
    end: usize,
    last: usize,
    /// Heads of the free lists (0: empty); each free block's first word
    /// holds the next one.
    free: [usize; CLASSES],
}

/// The list a freed block of `size` bytes goes on (its size is at least
/// that class's).
fn floor_class(size: usize) -> Option<usize> {
    let bits = size.checked_ilog2()?;
    (bits >= MIN_CLASS_BITS).then(|| ((bits - MIN_CLASS_BITS) as usize).min(CLASSES - 1))
}

/// Whether a request gets a mapping of its own (and gives it back).
fn own_mapping(size: usize, align: usize) -> bool {
    size + align > CHUNK / 4
}

/// The list whose blocks all hold `size` bytes.
fn ceil_class(size: usize) -> Option<usize> {
    let bits = size.max(1 << MIN_CLASS_BITS).checked_next_power_of_two()?.ilog2();
    let k = (bits - MIN_CLASS_BITS) as usize;
    (k < CLASSES).then_some(k)
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

// SAFETY: returns unique, aligned, mapped memory or null.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size().max(1), layout.align());
        if own_mapping(size, align) {
            // The kernel rounds the length up to whole pages.
            let want = size + align;
            return fresh_chunk(want).map_or(core::ptr::null_mut(), |p| ((p + align - 1) & !(align - 1)) as *mut u8);
        }
        self.with(|s| {
            // A freed block of a class at least this large (the head of
            // its list, if aligned enough).
            if let Some(k) = ceil_class(size) {
                let p = s.free[k];
                if p != 0 && p.is_multiple_of(align) {
                    // SAFETY: `p` is a free block of ours (at least 16
                    // bytes, 8-aligned): its first word is the list link.
                    s.free[k] = unsafe { (p as *const usize).read() };
                    return p as *mut u8;
                }
            }
            let start = (s.next + align - 1) & !(align - 1);
            if s.next != 0 && start.checked_add(size).is_some_and(|e| e <= s.end) {
                s.next = start + size;
                s.last = start;
                return start as *mut u8;
            }
            let Some(chunk) = fresh_chunk(CHUNK) else { return core::ptr::null_mut() };
            let start = (chunk + align - 1) & !(align - 1);
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
                s.next = s.last;
                s.last = 0;
                return;
            }
            let p = ptr as usize;
            if let Some(k) = floor_class(size).filter(|_| p.is_multiple_of(8)) {
                // SAFETY: the caller gives back a block of `size` >= 16
                // bytes it no longer uses: its first word becomes the link.
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
        let grown = self.with(|s| {
            if !own && ptr as usize == s.last && s.last + new_size <= s.end {
                s.next = s.last + new_size.max(1);
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
