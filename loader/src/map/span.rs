//! Ownership of an address range guardld mapped for one object: dropping
//! the owner unmaps it (and removes its guards with it).

/// A page-aligned range of this process's address space that one owner
/// mapped and alone may unmap.
pub struct Span {
    start: usize,
    len: usize,
}

impl Span {
    /// Take ownership of `[start, start+len)`.
    ///
    /// # Safety
    /// The range must have been mapped for the caller alone: nothing else
    /// may unmap it, and nothing may use it once the `Span` is dropped.
    pub unsafe fn adopt(start: usize, len: usize) -> Span {
        Span { start, len }
    }

    pub fn start(&self) -> usize {
        self.start
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: `adopt`'s contract: the range is ours alone and unused.
            let _ = unsafe { rustix::mm::munmap(self.start as *mut core::ffi::c_void, self.len) };
        }
    }
}
