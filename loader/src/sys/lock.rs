//! A spin lock: guardld's shared state is touched at start-up (one thread)
//! and by the runtime API (rarely contended), so no futex is needed.
//!
//! Fork: a lock another thread held when the process forked stays held in
//! the child, where that thread does not exist. A lock records the fork
//! epoch it was taken in; the child starts a new epoch, and a lock held
//! from an older one is taken over. The child learns it is one from
//! libc's atfork child handler (`after_fork_child`, registered for glibc
//! programs), or, before that handler runs (libc's own fork code may call
//! the loader) or without libc, when a lock it waits for has spun long and
//! the process ID is no longer the one start-up recorded: then only the
//! forking thread exists. guardld holds no lock while object code runs
//! (but the linker lock around the IFUNC resolvers relocation calls,
//! whose lookups read the registry without it: `link::init::
//! with_registry`), so the forking thread itself holds none.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): The spin lock's interior mutability.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, Ordering};

/// The current fork epoch (never 0: 0 marks a free lock).
static EPOCH: AtomicU32 = AtomicU32::new(1);

/// The process the current epoch belongs to.
static PID: AtomicU32 = AtomicU32::new(0);

/// Record the process (start-up).
pub fn note_process() {
    PID.store(rustix::process::getpid().as_raw_nonzero().get() as u32, Ordering::Relaxed);
}

/// libc's atfork child handler: locks held before the fork are stale.
pub extern "C" fn after_fork_child() {
    new_epoch(rustix::process::getpid().as_raw_nonzero().get() as u32);
}

fn new_epoch(pid: u32) {
    PID.store(pid, Ordering::Relaxed);
    let e = EPOCH.load(Ordering::Relaxed);
    EPOCH.store(if e == u32::MAX { 1 } else { e + 1 }, Ordering::Release);
}

/// After a long wait: whether this is a fork child that has not started
/// its epoch yet (then it does).
fn forked_since() -> bool {
    let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
    let known = PID.load(Ordering::Relaxed);
    if known == 0 || known == pid {
        return false;
    }
    new_epoch(pid);
    true
}

pub struct SpinLock<T> {
    /// 0: free; else the epoch the holder took it in.
    state: AtomicU32,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is only reachable through a guard, which holds the lock.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> Self {
        SpinLock { state: AtomicU32::new(0), value: UnsafeCell::new(value) }
    }

    pub fn lock(&self) -> Guard<'_, T> {
        let mut spins = 0u32;
        loop {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(1 << 16) {
                forked_since();
            }
            let epoch = EPOCH.load(Ordering::Acquire);
            match self.state.compare_exchange_weak(0, epoch, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Guard { lock: self },
                // Held by a thread of the parent process: take it over.
                Err(held) if held != 0 && held != epoch => {
                    if self.state.compare_exchange(held, epoch, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                        return Guard { lock: self };
                    }
                }
                Err(_) => core::hint::spin_loop(),
            }
        }
    }
}

pub struct Guard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        self.lock.state.store(0, Ordering::Release);
    }
}
