//! Mapping an object: a pure planner (`plan`, and `holes` for an object the
//! kernel already mapped) turns program headers into a list of operations;
//! the executor (`exec`) performs them with syscalls; `load` is the glue
//! (open, read headers, plan, execute, re-plan without guards if the kernel
//! refuses them). What the process has learnt about guard support is a
//! value the caller owns (`GuardSupport`), not global state.

use core::cell::Cell;

/// The executor: plan operations become mmap/mremap/madvise/mprotect.
pub mod exec;
pub mod load;
pub mod probe;

pub use guard_plan::{Op, PF_R, PF_W, PF_X, Padding, Plan, PlanInput, Segment, holes, page_floor, plan};

/// What one executor run learnt about guard regions. The executor reports
/// it; the caller records it in its `GuardSupport`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuardReport {
    /// The kernel refused MADV_GUARD_INSTALL with this errno.
    pub refused: Option<i32>,
    /// process_madvise (one call for all of an object's guards) failed:
    /// install range by range with madvise from now on.
    pub no_batch: bool,
}

/// What this process has learnt about guard regions by trying them. The
/// caller owns it: start-up creates one before mapping anything and keeps
/// it in the link configuration (`link::deps::LoadConfig`), so dlopen sees
/// the same value. Planning takes the padding mode it gives (`effective`);
/// the executors take whether to batch (`batch`) and return a
/// `GuardReport`, which the caller `record`s here.
#[derive(Clone, Debug, Default)]
pub struct GuardSupport {
    refused: Cell<Option<i32>>,
    no_batch: Cell<bool>,
}

impl GuardSupport {
    /// Nothing known yet: guards are tried.
    pub const fn new() -> Self {
        GuardSupport { refused: Cell::new(None), no_batch: Cell::new(false) }
    }

    /// The padding mode to plan with when `requested` is asked for: Guard
    /// becomes ProtNone (glibc's layout) once the kernel refused guards.
    pub fn effective(&self, requested: Padding) -> Padding {
        match requested {
            Padding::Guard if self.refused.get().is_some() => Padding::ProtNone,
            p => p,
        }
    }

    /// The errno of the kernel's refusal, once guards were refused.
    pub fn refused(&self) -> Option<i32> {
        self.refused.get()
    }

    /// Whether the executor should try the batched install first.
    pub fn batch(&self) -> bool {
        !self.no_batch.get()
    }

    /// Record what an executor run learnt. The first refusal is announced
    /// (once per process: later objects are planned without guards).
    pub fn record(&self, r: GuardReport) {
        if r.no_batch {
            self.no_batch.set(true);
        }
        if let Some(e) = r.refused
            && self.refused.get().is_none()
        {
            self.refused.set(Some(e));
            crate::debug!(Map, "guard regions unavailable (madvise {}: errno {}): padding falls back to PROT_NONE", exec::MADV_GUARD_INSTALL, e);
        }
    }
}
