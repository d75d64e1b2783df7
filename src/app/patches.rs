//! The two patch slots and the rules for changing them concurrently.
//!
//! Each slot keeps its [`PatchState`] behind a `std::sync::Mutex` that is only
//! held for short, synchronous reads and writes (never across an `.await` or
//! a computation). Long work (loading, computing reaches) runs on blocking
//! threads and publishes its results through [`PatchSlot::commit`], which
//! drops the write when a newer load has started since: a superseded load or
//! rebuild never overwrites what a newer one recorded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::domain::patch::{PatchKey, PatchState};

/// One patch: its state, the load generation, and the rebuild queue.
#[derive(Debug, Default)]
pub struct PatchSlot {
    state: Mutex<PatchState>,
    /// Bumped by every load; work started under an older generation is stale.
    generation: AtomicU64,
    /// Serializes rebuilds of this patch (a queue, not a lock on the state).
    pub(crate) rebuild: tokio::sync::Mutex<()>,
}

impl PatchSlot {
    fn lock(&self) -> MutexGuard<'_, PatchState> {
        // Writers replace whole fields; a panic mid-write cannot leave a torn
        // value, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of the state (cheap: the walker and reaches are shared).
    pub fn snapshot(&self) -> PatchState {
        self.lock().clone()
    }

    /// The state with the generation it belongs to, read atomically.
    pub fn snapshot_with_generation(&self) -> (PatchState, u64) {
        let state = self.lock();
        (state.clone(), self.generation.load(Ordering::SeqCst))
    }

    /// Starts a new load: resets every field to `fresh` and returns the new
    /// generation, which makes all older work stale.
    pub fn begin_load(&self, fresh: PatchState) -> u64 {
        let mut state = self.lock();
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        *state = fresh;
        generation
    }

    /// Whether work started under `generation` is still current.
    pub fn is_current(&self, generation: u64) -> bool {
        self.generation.load(Ordering::SeqCst) == generation
    }

    /// Applies `update` if `generation` is still current; returns whether it did.
    pub fn commit(&self, generation: u64, update: impl FnOnce(&mut PatchState)) -> bool {
        let mut state = self.lock();
        if self.generation.load(Ordering::SeqCst) != generation {
            return false;
        }
        update(&mut state);
        true
    }
}

/// Patch slots `a` and `b`.
#[derive(Debug, Default)]
pub struct Patches {
    slots: [PatchSlot; 2],
}

impl Patches {
    pub fn slot(&self, key: PatchKey) -> &PatchSlot {
        &self.slots[key.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_load_makes_older_commits_no_ops() {
        let slot = PatchSlot::default();
        let first = slot.begin_load(PatchState {
            run_id: Some("old".into()),
            ..PatchState::default()
        });
        let second = slot.begin_load(PatchState {
            run_id: Some("new".into()),
            ..PatchState::default()
        });
        assert!(!slot.is_current(first));
        assert!(!slot.commit(first, |s| s.walker_ready = true));
        assert!(!slot.snapshot().walker_ready);
        assert!(slot.commit(second, |s| s.walker_ready = true));
        let (state, generation) = slot.snapshot_with_generation();
        assert!(state.walker_ready);
        assert_eq!(state.run_id.as_deref(), Some("new"));
        assert_eq!(generation, second);
    }
}
