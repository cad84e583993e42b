//! A bump allocator on anonymous mmap chunks: the loader allocates a few
//! hundred small records per object and frees almost nothing, so freeing is
//! only honoured for the most recent allocation. A spin lock keeps it sound
//! if a program calls into guardld's runtime API from several threads.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): The global allocator (mmap'd chunks).

use core::alloc::{GlobalAlloc, Layout};
use super::lock::SpinLock;
use rustix::mm::{MapFlags, ProtFlags, mmap_anonymous};

/// Virtual size of one chunk: only touched pages cost memory, and every
/// chunk is a VMA, so chunks are large (a 100-library dlopen zygote fits
/// in one).
const CHUNK: usize = 1 << 20;

struct State {
    next: usize,
    end: usize,
    last: usize,
}

pub struct Arena {
    state: SpinLock<State>,
}

impl Arena {
    pub const fn new() -> Self {
        Arena { state: SpinLock::new(State { next: 0, end: 0, last: 0 }) }
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
    p.ok().map(|p| p as usize)
}

// SAFETY: returns unique, aligned, mapped memory or null.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size().max(1), layout.align());
        self.with(|s| {
            let start = (s.next + align - 1) & !(align - 1);
            if s.next != 0 && start.checked_add(size).is_some_and(|e| e <= s.end) {
                s.next = start + size;
                s.last = start;
                return start as *mut u8;
            }
            // Large requests get a mapping of their own; the current chunk
            // stays. (The kernel rounds the length up to whole pages.)
            let want = size + align;
            if want > CHUNK / 4 {
                return fresh_chunk(want).map_or(core::ptr::null_mut(), |p| ((p + align - 1) & !(align - 1)) as *mut u8);
            }
            let Some(chunk) = fresh_chunk(CHUNK) else { return core::ptr::null_mut() };
            let start = (chunk + align - 1) & !(align - 1);
            s.next = start + size;
            s.end = chunk + CHUNK;
            s.last = start;
            start as *mut u8
        })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        self.with(|s| {
            if ptr as usize == s.last && s.last != 0 {
                s.next = s.last;
                s.last = 0;
            }
        })
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Grow in place when `ptr` is the last allocation (the common Vec push case).
        let grown = self.with(|s| {
            if ptr as usize == s.last && s.last + new_size <= s.end {
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
