//! Cooperative session leases and the server's active session (SEMANTICS §4).
//!
//! A lease stops two clients from mutating one session at once; it is a
//! consistency guard between cooperating clients, not authentication. Every
//! operation is one critical section over a `std::sync::Mutex` that is never
//! held across an `.await`, so concurrent callers always see some serial order.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock::{Clock, Millis, format_utc_seconds};

pub const REASON_SESSION_INVALID: &str = "session_id missing or invalid";
pub const REASON_HOLDER_INVALID: &str = "lock_holder_id missing or invalid";
pub const REASON_HELD_BY_OTHER: &str = "session lock held by another holder";
pub const REASON_REFRESHED: &str = "session lock refreshed";
pub const REASON_TAKEN_OVER: &str = "session lock takeover complete";
pub const REASON_ACQUIRED: &str = "session lock acquired";
pub const REASON_NOT_FOUND: &str = "session lock not found";
pub const REASON_RELEASED: &str = "session lock released";
pub const REASON_NO_LOCK: &str = "no active lock";
pub const REASON_LOCK_PRESENT: &str = "active lock present";

/// The status word of a lease operation, as clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaseStatus {
    Acquired,
    Held,
    TakenOver,
    Locked,
    Released,
    Missing,
    Unlocked,
    /// A blank id: the request was malformed.
    Error,
    /// A server limit (id length, lease count) refused the request; reads as
    /// `error` on the wire.
    LimitExceeded,
}

impl LeaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acquired => "acquired",
            Self::Held => "held",
            Self::TakenOver => "taken_over",
            Self::Locked => "locked",
            Self::Released => "released",
            Self::Missing => "missing",
            Self::Unlocked => "unlocked",
            Self::Error | Self::LimitExceeded => "error",
        }
    }
}

/// A lease as clients see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    pub session_id: String,
    pub holder_id: String,
    pub acquired_at_utc: String,
    pub refreshed_at_utc: String,
    pub expires_at_utc: String,
    /// Grows with every new grant of the session; a refresh keeps it.
    pub fencing_token: u64,
}

/// The answer of one lease operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseOutcome {
    pub status: LeaseStatus,
    pub reason: String,
    /// The lease after the operation (or the conflicting one, or the released one).
    pub lock: Option<LockInfo>,
    /// On takeover, the lease that was replaced.
    pub previous: Option<LockInfo>,
}

impl LeaseOutcome {
    fn new(status: LeaseStatus, reason: impl Into<String>, lock: Option<LockInfo>) -> Self {
        Self {
            status,
            reason: reason.into(),
            lock,
            previous: None,
        }
    }
}

/// The server's active session: the session that mutating requests are checked against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActiveSession {
    pub session_id: Option<String>,
    pub holder_id: Option<String>,
}

/// Why the active-session check refused a mutating request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnforcementRefusal {
    /// `lock_holder_id` was present but blank.
    BlankHolder { active_session_id: String },
    /// `lock_holder_id` was absent.
    MissingHolder { active_session_id: String },
    /// Another holder has the active session.
    HeldByOther {
        active_session_id: String,
        lock: Option<Box<LockInfo>>,
    },
    /// The lease service refused for another reason.
    ValidationFailed {
        active_session_id: String,
        reason: String,
    },
}

/// Limits that protect the server from unbounded input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseLimits {
    /// Longest session or holder id, in bytes, after trimming.
    pub max_id_bytes: usize,
    /// Most leases held at once.
    pub max_leases: usize,
}

impl Default for LeaseLimits {
    fn default() -> Self {
        Self {
            max_id_bytes: 256,
            max_leases: 100_000,
        }
    }
}

#[derive(Debug, Clone)]
struct Lease {
    holder_id: String,
    acquired_at_ms: Millis,
    refreshed_at_ms: Millis,
    expires_at_ms: Millis,
    fencing_token: u64,
}

impl Lease {
    fn info(&self, session_id: &str) -> LockInfo {
        LockInfo {
            session_id: session_id.to_owned(),
            holder_id: self.holder_id.clone(),
            acquired_at_utc: format_utc_seconds(self.acquired_at_ms),
            refreshed_at_utc: format_utc_seconds(self.refreshed_at_ms),
            expires_at_utc: format_utc_seconds(self.expires_at_ms),
            fencing_token: self.fencing_token,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    leases: HashMap<String, Lease>,
    /// `(expires_at_ms, session_id)` of every lease, so pruning is O(expired · log n).
    expiry: BTreeSet<(Millis, String)>,
    active: ActiveSession,
    last_fencing_token: u64,
}

impl State {
    /// Removes leases with `expires_at <= now`; pruning the active session's
    /// lease clears the active holder (not the active session id).
    fn prune(&mut self, now: Millis) {
        while let Some(first) = self.expiry.first() {
            if first.0 > now {
                break;
            }
            let Some((_, session_id)) = self.expiry.pop_first() else {
                break;
            };
            self.leases.remove(&session_id);
            if self.active.session_id.as_deref() == Some(session_id.as_str()) {
                self.active.holder_id = None;
            }
        }
    }

    /// Replaces the session's lease. The old expiry entry goes first: a
    /// refresh within the same millisecond has the same entry, which must
    /// survive.
    fn insert(&mut self, session_id: &str, lease: Lease) {
        self.remove(session_id);
        self.expiry
            .insert((lease.expires_at_ms, session_id.to_owned()));
        self.leases.insert(session_id.to_owned(), lease);
    }

    fn remove(&mut self, session_id: &str) -> Option<Lease> {
        let lease = self.leases.remove(session_id)?;
        self.expiry
            .remove(&(lease.expires_at_ms, session_id.to_owned()));
        Some(lease)
    }

    fn clear_active_holder_of(&mut self, session_id: &str) {
        if self.active.session_id.as_deref() == Some(session_id) {
            self.active.holder_id = None;
        }
    }
}

/// The in-memory lease table. Cheap to clone; clones share the table.
#[derive(Debug, Clone)]
pub struct LeaseTable {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
    ttl_ms: Millis,
    limits: LeaseLimits,
}

impl LeaseTable {
    pub fn new(clock: Arc<dyn Clock>, ttl_secs: u64, limits: LeaseLimits) -> Self {
        Self {
            state: Arc::default(),
            clock,
            ttl_ms: ttl_secs.saturating_mul(1000),
            limits,
        }
    }

    /// Locks the table. A panic while holding the lock cannot leave a lease
    /// half-written (every mutation is a single map/set operation pair), so a
    /// poisoned lock is still safe to use.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Validates trimmed ids; `Err` carries the refusal to return.
    fn check_ids<'a>(
        &self,
        session_id: &'a str,
        holder_id: Option<&'a str>,
    ) -> Result<(&'a str, &'a str), Box<LeaseOutcome>> {
        let session_id = session_id.trim();
        if session_id.is_empty() {
            return Err(Box::new(LeaseOutcome::new(
                LeaseStatus::Error,
                REASON_SESSION_INVALID,
                None,
            )));
        }
        let holder_id = holder_id.map(str::trim).unwrap_or_default();
        if holder_id.is_empty() {
            return Err(Box::new(LeaseOutcome::new(
                LeaseStatus::Error,
                REASON_HOLDER_INVALID,
                None,
            )));
        }
        let max = self.limits.max_id_bytes;
        if session_id.len() > max {
            return Err(Box::new(LeaseOutcome::new(
                LeaseStatus::LimitExceeded,
                format!("session_id exceeds the limit of {max} bytes"),
                None,
            )));
        }
        if holder_id.len() > max {
            return Err(Box::new(LeaseOutcome::new(
                LeaseStatus::LimitExceeded,
                format!("lock_holder_id exceeds the limit of {max} bytes"),
                None,
            )));
        }
        Ok((session_id, holder_id))
    }

    /// Acquires, refreshes or (with `force`) takes over a lease.
    pub fn acquire(&self, session_id: &str, holder_id: &str, force: bool) -> LeaseOutcome {
        let (session_id, holder_id) = match self.check_ids(session_id, Some(holder_id)) {
            Ok(ids) => ids,
            Err(refusal) => return *refusal,
        };
        let now = self.clock.now_ms();
        let mut state = self.lock();
        state.prune(now);
        self.acquire_locked(&mut state, now, session_id, holder_id, force)
    }

    fn acquire_locked(
        &self,
        state: &mut State,
        now: Millis,
        session_id: &str,
        holder_id: &str,
        force: bool,
    ) -> LeaseOutcome {
        let expires_at_ms = now.saturating_add(self.ttl_ms);
        let existing = state.leases.get(session_id).cloned();
        match existing {
            Some(lease) if lease.holder_id == holder_id => {
                let refreshed = Lease {
                    refreshed_at_ms: now,
                    expires_at_ms,
                    ..lease
                };
                let info = refreshed.info(session_id);
                state.insert(session_id, refreshed);
                LeaseOutcome::new(LeaseStatus::Held, REASON_REFRESHED, Some(info))
            }
            Some(lease) if !force => LeaseOutcome::new(
                LeaseStatus::Locked,
                REASON_HELD_BY_OTHER,
                Some(lease.info(session_id)),
            ),
            existing => {
                if existing.is_none() && state.leases.len() >= self.limits.max_leases {
                    return LeaseOutcome::new(
                        LeaseStatus::LimitExceeded,
                        format!("too many session locks (limit {})", self.limits.max_leases),
                        None,
                    );
                }
                state.last_fencing_token += 1;
                let lease = Lease {
                    holder_id: holder_id.to_owned(),
                    acquired_at_ms: now,
                    refreshed_at_ms: now,
                    expires_at_ms,
                    fencing_token: state.last_fencing_token,
                };
                let info = lease.info(session_id);
                state.insert(session_id, lease);
                match existing {
                    Some(previous) => LeaseOutcome {
                        previous: Some(previous.info(session_id)),
                        ..LeaseOutcome::new(LeaseStatus::TakenOver, REASON_TAKEN_OVER, Some(info))
                    },
                    None => LeaseOutcome::new(LeaseStatus::Acquired, REASON_ACQUIRED, Some(info)),
                }
            }
        }
    }

    /// A heartbeat is an acquire without force: on a free session it acquires.
    pub fn heartbeat(&self, session_id: &str, holder_id: &str) -> LeaseOutcome {
        self.acquire(session_id, holder_id, false)
    }

    /// Releases the caller's lease.
    pub fn release(&self, session_id: &str, holder_id: &str) -> LeaseOutcome {
        let (session_id, holder_id) = match self.check_ids(session_id, Some(holder_id)) {
            Ok(ids) => ids,
            Err(refusal) => return *refusal,
        };
        let now = self.clock.now_ms();
        let mut state = self.lock();
        state.prune(now);
        match state.leases.get(session_id) {
            None => {
                state.clear_active_holder_of(session_id);
                LeaseOutcome::new(LeaseStatus::Missing, REASON_NOT_FOUND, None)
            }
            Some(lease) if lease.holder_id != holder_id => LeaseOutcome::new(
                LeaseStatus::Locked,
                REASON_HELD_BY_OTHER,
                Some(lease.info(session_id)),
            ),
            Some(_) => {
                let info = state.remove(session_id).map(|l| l.info(session_id));
                state.clear_active_holder_of(session_id);
                LeaseOutcome::new(LeaseStatus::Released, REASON_RELEASED, info)
            }
        }
    }

    /// Reads a lease without changing it.
    pub fn get(&self, session_id: &str) -> LeaseOutcome {
        let session_id = session_id.trim();
        if session_id.is_empty() {
            return LeaseOutcome::new(LeaseStatus::Error, REASON_SESSION_INVALID, None);
        }
        let now = self.clock.now_ms();
        let mut state = self.lock();
        state.prune(now);
        match state.leases.get(session_id) {
            None => LeaseOutcome::new(LeaseStatus::Unlocked, REASON_NO_LOCK, None),
            Some(lease) => LeaseOutcome::new(
                LeaseStatus::Locked,
                REASON_LOCK_PRESENT,
                Some(lease.info(session_id)),
            ),
        }
    }

    /// Acquires (or takes over) a lease and, on success, makes that session
    /// the active one with this holder, in one step.
    pub fn acquire_active(&self, session_id: &str, holder_id: &str, force: bool) -> LeaseOutcome {
        let (session_id, holder_id) = match self.check_ids(session_id, Some(holder_id)) {
            Ok(ids) => ids,
            Err(refusal) => return *refusal,
        };
        let now = self.clock.now_ms();
        let mut state = self.lock();
        state.prune(now);
        let outcome = self.acquire_locked(&mut state, now, session_id, holder_id, force);
        if matches!(
            outcome.status,
            LeaseStatus::Acquired | LeaseStatus::Held | LeaseStatus::TakenOver
        ) {
            state.active = ActiveSession {
                session_id: Some(session_id.to_owned()),
                holder_id: Some(holder_id.to_owned()),
            };
        }
        outcome
    }

    /// The active-session check of every mutating request (SEMANTICS §4).
    ///
    /// Expired leases are pruned first, so an expired active lease no longer
    /// guards anything. `holder_id` is the request's raw `lock_holder_id`.
    pub fn enforce_active(&self, holder_id: Option<&str>) -> Result<(), EnforcementRefusal> {
        let now = self.clock.now_ms();
        let mut state = self.lock();
        state.prune(now);
        let (Some(active_session_id), Some(_)) = (
            state.active.session_id.clone(),
            state.active.holder_id.as_ref(),
        ) else {
            return Ok(());
        };
        let holder_id = match holder_id {
            None => return Err(EnforcementRefusal::MissingHolder { active_session_id }),
            Some(raw) if raw.trim().is_empty() => {
                return Err(EnforcementRefusal::BlankHolder { active_session_id });
            }
            Some(raw) => raw.trim(),
        };
        if let Err(refusal) = self.check_ids(&active_session_id, Some(holder_id)) {
            return Err(EnforcementRefusal::ValidationFailed {
                active_session_id,
                reason: refusal.reason,
            });
        }
        let outcome = self.acquire_locked(&mut state, now, &active_session_id, holder_id, false);
        match outcome.status {
            LeaseStatus::Acquired | LeaseStatus::Held => {
                state.active.holder_id = Some(holder_id.to_owned());
                Ok(())
            }
            LeaseStatus::Locked => Err(EnforcementRefusal::HeldByOther {
                active_session_id,
                lock: outcome.lock.map(Box::new),
            }),
            _ => Err(EnforcementRefusal::ValidationFailed {
                active_session_id,
                reason: outcome.reason,
            }),
        }
    }

    /// Detaches the active session before a load replaces what it was
    /// working on: the caller's lease on it is released if the caller is the
    /// active holder, then the active session id and holder are cleared.
    pub fn detach_active(&self, holder_id: Option<&str>) {
        let now = self.clock.now_ms();
        let mut state = self.lock();
        state.prune(now);
        let active = std::mem::take(&mut state.active);
        if let (Some(session_id), Some(active_holder), Some(holder)) = (
            active.session_id,
            active.holder_id,
            holder_id.map(str::trim),
        ) && active_holder == holder
            && state
                .leases
                .get(&session_id)
                .is_some_and(|lease| lease.holder_id == holder)
        {
            state.remove(&session_id);
        }
    }

    /// The active session after pruning expired leases.
    pub fn active(&self) -> ActiveSession {
        let now = self.clock.now_ms();
        let mut state = self.lock();
        state.prune(now);
        state.active.clone()
    }

    /// Number of unexpired leases.
    pub fn len(&self) -> usize {
        let now = self.clock.now_ms();
        let mut state = self.lock();
        state.prune(now);
        state.leases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// 2026-12-03T12:00:00Z.
    const START_MS: Millis = 1_796_299_200_000;

    fn table() -> (LeaseTable, ManualClock) {
        table_with(LeaseLimits::default())
    }

    fn table_with(limits: LeaseLimits) -> (LeaseTable, ManualClock) {
        let clock = ManualClock::new(START_MS);
        (LeaseTable::new(Arc::new(clock.clone()), 45, limits), clock)
    }

    fn lock(outcome: &LeaseOutcome) -> &LockInfo {
        outcome.lock.as_ref().expect("outcome carries a lock")
    }

    #[test]
    fn acquire_rejects_blank_ids() {
        let (leases, _) = table();
        for session in ["", "   ", "\t\n"] {
            let outcome = leases.acquire(session, "h", false);
            assert_eq!(outcome.status, LeaseStatus::Error);
            assert_eq!(outcome.status.as_str(), "error");
            assert_eq!(outcome.reason, "session_id missing or invalid");
            assert_eq!(outcome.lock, None);
        }
        let outcome = leases.acquire("s", "  ", false);
        assert_eq!(outcome.status, LeaseStatus::Error);
        assert_eq!(outcome.reason, "lock_holder_id missing or invalid");
        assert!(leases.is_empty());
    }

    #[test]
    fn first_acquire_creates_a_lease_with_second_precision_timestamps() {
        let (leases, clock) = table();
        clock.advance_ms(700);
        let outcome = leases.acquire("s1", "tab-1", false);
        assert_eq!(outcome.status, LeaseStatus::Acquired);
        assert_eq!(outcome.reason, "session lock acquired");
        let info = lock(&outcome);
        assert_eq!(info.session_id, "s1");
        assert_eq!(info.holder_id, "tab-1");
        assert_eq!(info.acquired_at_utc, "2026-12-03T12:00:00Z");
        assert_eq!(info.refreshed_at_utc, "2026-12-03T12:00:00Z");
        assert_eq!(info.expires_at_utc, "2026-12-03T12:00:45Z");
        assert!(info.fencing_token > 0);
    }

    #[test]
    fn ids_are_trimmed_before_use() {
        let (leases, _) = table();
        let first = leases.acquire("  s1 ", " tab-1\t", false);
        assert_eq!(lock(&first).session_id, "s1");
        assert_eq!(lock(&first).holder_id, "tab-1");
        let again = leases.acquire("s1", "tab-1", false);
        assert_eq!(again.status, LeaseStatus::Held);
        assert_eq!(leases.len(), 1);
    }

    #[test]
    fn same_holder_refreshes_and_keeps_acquired_at_and_token() {
        let (leases, clock) = table();
        let first = leases.acquire("s1", "tab-1", false);
        clock.advance_secs(10);
        let refreshed = leases.heartbeat("s1", "tab-1");
        assert_eq!(refreshed.status, LeaseStatus::Held);
        assert_eq!(refreshed.status.as_str(), "held");
        assert_eq!(refreshed.reason, "session lock refreshed");
        let info = lock(&refreshed);
        assert_eq!(info.acquired_at_utc, "2026-12-03T12:00:00Z");
        assert_eq!(info.refreshed_at_utc, "2026-12-03T12:00:10Z");
        assert_eq!(info.expires_at_utc, "2026-12-03T12:00:55Z");
        assert_eq!(info.fencing_token, lock(&first).fencing_token);
    }

    #[test]
    fn another_holder_is_refused_with_the_existing_lock() {
        let (leases, _) = table();
        let first = leases.acquire("s1", "tab-1", false);
        let refused = leases.acquire("s1", "tab-2", false);
        assert_eq!(refused.status, LeaseStatus::Locked);
        assert_eq!(refused.status.as_str(), "locked");
        assert_eq!(refused.reason, "session lock held by another holder");
        assert_eq!(refused.lock, first.lock);
        let heartbeat = leases.heartbeat("s1", "tab-2");
        assert_eq!(heartbeat.status, LeaseStatus::Locked);
        assert_eq!(lock(&heartbeat).holder_id, "tab-1");
    }

    #[test]
    fn force_takes_over_with_a_new_grant() {
        let (leases, clock) = table();
        let first = leases.acquire("s1", "tab-1", false);
        clock.advance_secs(5);
        let taken = leases.acquire("s1", "tab-2", true);
        assert_eq!(taken.status, LeaseStatus::TakenOver);
        assert_eq!(taken.status.as_str(), "taken_over");
        assert_eq!(taken.reason, "session lock takeover complete");
        let info = lock(&taken);
        assert_eq!(info.holder_id, "tab-2");
        assert_eq!(info.acquired_at_utc, "2026-12-03T12:00:05Z");
        assert!(info.fencing_token > lock(&first).fencing_token);
        assert_eq!(taken.previous, first.lock);
        // The old holder is now the one refused.
        assert_eq!(leases.heartbeat("s1", "tab-1").status, LeaseStatus::Locked);
    }

    #[test]
    fn force_by_the_holder_itself_is_a_refresh() {
        let (leases, _) = table();
        leases.acquire("s1", "tab-1", false);
        assert_eq!(
            leases.acquire("s1", "tab-1", true).status,
            LeaseStatus::Held
        );
    }

    #[test]
    fn heartbeat_on_a_free_session_acquires_it() {
        let (leases, _) = table();
        let outcome = leases.heartbeat("s1", "tab-1");
        assert_eq!(outcome.status, LeaseStatus::Acquired);
        assert_eq!(outcome.reason, "session lock acquired");
    }

    #[test]
    fn leases_expire_at_ttl_and_a_new_holder_gets_a_larger_token() {
        let (leases, clock) = table();
        let first = leases.acquire("s1", "tab-1", false);
        clock.advance_ms(44_999);
        assert_eq!(
            leases.acquire("s1", "tab-2", false).status,
            LeaseStatus::Locked
        );
        clock.advance_ms(1); // expires_at <= now: pruned
        assert_eq!(leases.get("s1").status, LeaseStatus::Unlocked);
        let second = leases.acquire("s1", "tab-2", false);
        assert_eq!(second.status, LeaseStatus::Acquired);
        assert!(lock(&second).fencing_token > lock(&first).fencing_token);
    }

    #[test]
    fn a_refresh_in_the_same_millisecond_still_expires() {
        let (leases, clock) = table();
        leases.acquire("s1", "tab-1", false);
        leases.heartbeat("s1", "tab-1");
        clock.advance_secs(45);
        assert_eq!(leases.get("s1").status, LeaseStatus::Unlocked);
        assert!(leases.is_empty());
    }

    #[test]
    fn a_refresh_pushes_expiry_back() {
        let (leases, clock) = table();
        leases.acquire("s1", "tab-1", false);
        clock.advance_secs(30);
        leases.heartbeat("s1", "tab-1");
        clock.advance_secs(30);
        assert_eq!(leases.get("s1").status, LeaseStatus::Locked);
        clock.advance_secs(15);
        assert_eq!(leases.get("s1").status, LeaseStatus::Unlocked);
    }

    #[test]
    fn release_answers_every_case() {
        let (leases, _) = table();
        let blank = leases.release(" ", "tab-1");
        assert_eq!(
            (blank.status, blank.reason.as_str()),
            (LeaseStatus::Error, "session_id missing or invalid")
        );
        let blank_holder = leases.release("s1", "");
        assert_eq!(
            (blank_holder.status, blank_holder.reason.as_str()),
            (LeaseStatus::Error, "lock_holder_id missing or invalid")
        );
        let missing = leases.release("s1", "tab-1");
        assert_eq!(missing.status, LeaseStatus::Missing);
        assert_eq!(missing.status.as_str(), "missing");
        assert_eq!(missing.reason, "session lock not found");
        assert_eq!(missing.lock, None);

        let held = leases.acquire("s1", "tab-1", false);
        let other = leases.release("s1", "tab-2");
        assert_eq!(other.status, LeaseStatus::Locked);
        assert_eq!(other.reason, "session lock held by another holder");
        assert_eq!(other.lock, held.lock);
        assert_eq!(leases.get("s1").status, LeaseStatus::Locked);

        let released = leases.release(" s1", "tab-1 ");
        assert_eq!(released.status, LeaseStatus::Released);
        assert_eq!(released.status.as_str(), "released");
        assert_eq!(released.reason, "session lock released");
        assert_eq!(released.lock, held.lock);
        assert_eq!(leases.get("s1").status, LeaseStatus::Unlocked);
    }

    #[test]
    fn get_answers_every_case() {
        let (leases, _) = table();
        let blank = leases.get("  ");
        assert_eq!(blank.status, LeaseStatus::Error);
        assert_eq!(blank.reason, "session_id missing or invalid");
        let none = leases.get("s1");
        assert_eq!(none.status, LeaseStatus::Unlocked);
        assert_eq!(none.status.as_str(), "unlocked");
        assert_eq!(none.reason, "no active lock");
        assert_eq!(none.lock, None);
        let held = leases.acquire("s1", "tab-1", false);
        let present = leases.get(" s1 ");
        assert_eq!(present.status, LeaseStatus::Locked);
        assert_eq!(present.reason, "active lock present");
        assert_eq!(present.lock, held.lock);
    }

    #[test]
    fn acquire_active_sets_the_active_session_and_release_clears_its_holder() {
        let (leases, _) = table();
        assert_eq!(leases.active(), ActiveSession::default());
        leases.acquire_active("s1", "tab-1", false);
        assert_eq!(
            leases.active(),
            ActiveSession {
                session_id: Some("s1".into()),
                holder_id: Some("tab-1".into()),
            }
        );
        // A refused acquire does not move the active session.
        assert_eq!(
            leases.acquire_active("s1", "tab-2", false).status,
            LeaseStatus::Locked
        );
        assert_eq!(leases.active().holder_id.as_deref(), Some("tab-1"));
        // Takeover moves it.
        leases.acquire_active("s1", "tab-2", true);
        assert_eq!(leases.active().holder_id.as_deref(), Some("tab-2"));
        leases.release("s1", "tab-2");
        assert_eq!(
            leases.active(),
            ActiveSession {
                session_id: Some("s1".into()),
                holder_id: None,
            }
        );
    }

    #[test]
    fn release_of_a_missing_active_session_clears_the_active_holder() {
        let (leases, clock) = table();
        leases.acquire_active("s1", "tab-1", false);
        // Another session's release leaves the active holder alone.
        leases.release("s2", "tab-1");
        assert_eq!(leases.active().holder_id.as_deref(), Some("tab-1"));
        clock.advance_secs(45);
        assert_eq!(leases.release("s1", "tab-1").status, LeaseStatus::Missing);
        assert_eq!(leases.active().holder_id, None);
        assert_eq!(leases.active().session_id.as_deref(), Some("s1"));
    }

    #[test]
    fn pruning_the_active_lease_clears_the_holder_not_the_session() {
        let (leases, clock) = table();
        leases.acquire_active("s1", "tab-1", false);
        clock.advance_secs(45);
        let active = leases.active();
        assert_eq!(active.session_id.as_deref(), Some("s1"));
        assert_eq!(active.holder_id, None);
    }

    #[test]
    fn enforcement_allows_everything_without_an_active_holder() {
        let (leases, _) = table();
        assert_eq!(leases.enforce_active(None), Ok(()));
        assert_eq!(leases.enforce_active(Some("  ")), Ok(()));
        leases.acquire("s1", "tab-1", false); // not active: plain acquire
        assert_eq!(leases.enforce_active(None), Ok(()));
    }

    #[test]
    fn enforcement_refuses_missing_blank_and_other_holders() {
        let (leases, _) = table();
        let held = leases.acquire_active("s1", "tab-1", false);
        assert_eq!(
            leases.enforce_active(None),
            Err(EnforcementRefusal::MissingHolder {
                active_session_id: "s1".into()
            })
        );
        assert_eq!(
            leases.enforce_active(Some(" ")),
            Err(EnforcementRefusal::BlankHolder {
                active_session_id: "s1".into()
            })
        );
        assert_eq!(
            leases.enforce_active(Some("tab-2")),
            Err(EnforcementRefusal::HeldByOther {
                active_session_id: "s1".into(),
                lock: held.lock.clone().map(Box::new),
            })
        );
        assert_eq!(leases.enforce_active(Some(" tab-1 ")), Ok(()));
    }

    #[test]
    fn enforcement_refreshes_the_active_lease() {
        let (leases, clock) = table();
        leases.acquire_active("s1", "tab-1", false);
        clock.advance_secs(40);
        assert_eq!(leases.enforce_active(Some("tab-1")), Ok(()));
        clock.advance_secs(40);
        assert_eq!(leases.get("s1").status, LeaseStatus::Locked);
    }

    #[test]
    fn an_expired_active_lease_guards_nothing() {
        let (leases, clock) = table();
        leases.acquire_active("s1", "tab-1", false);
        clock.advance_secs(45);
        assert_eq!(leases.enforce_active(None), Ok(()));
        assert_eq!(leases.enforce_active(Some("tab-2")), Ok(()));
    }

    #[test]
    fn enforcement_reports_other_refusals_as_validation_failures() {
        let (leases, _) = table_with(LeaseLimits {
            max_id_bytes: 8,
            max_leases: 10,
        });
        leases.acquire_active("s1", "tab-1", false);
        match leases.enforce_active(Some("a-very-long-holder")) {
            Err(EnforcementRefusal::ValidationFailed {
                active_session_id,
                reason,
            }) => {
                assert_eq!(active_session_id, "s1");
                assert_eq!(reason, "lock_holder_id exceeds the limit of 8 bytes");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn detach_releases_the_callers_active_lease_and_clears_the_session() {
        let (leases, _) = table();
        leases.acquire_active("s1", "tab-1", false);
        leases.detach_active(Some("tab-1"));
        assert_eq!(leases.active(), ActiveSession::default());
        assert_eq!(leases.get("s1").status, LeaseStatus::Unlocked);

        leases.acquire_active("s2", "tab-1", false);
        leases.detach_active(Some("tab-2"));
        assert_eq!(leases.active(), ActiveSession::default());
        assert_eq!(leases.get("s2").status, LeaseStatus::Locked);
    }

    #[test]
    fn limits_refuse_long_ids_and_too_many_leases() {
        let (leases, _) = table_with(LeaseLimits {
            max_id_bytes: 4,
            max_leases: 2,
        });
        let long = leases.acquire("s-too-long", "h", false);
        assert_eq!(long.status, LeaseStatus::LimitExceeded);
        assert_eq!(long.status.as_str(), "error");
        assert_eq!(long.reason, "session_id exceeds the limit of 4 bytes");
        leases.acquire("s1", "h", false);
        leases.acquire("s2", "h", false);
        let third = leases.acquire("s3", "h", false);
        assert_eq!(third.status, LeaseStatus::LimitExceeded);
        assert_eq!(third.reason, "too many session locks (limit 2)");
        // Existing leases still refresh and can be taken over at the limit.
        assert_eq!(leases.heartbeat("s1", "h").status, LeaseStatus::Held);
        assert_eq!(
            leases.acquire("s2", "g", true).status,
            LeaseStatus::TakenOver
        );
    }

    #[test]
    fn fencing_tokens_only_grow_across_sessions_and_grants() {
        let (leases, clock) = table();
        let mut last = 0;
        for round in 0..5 {
            for session in ["s1", "s2"] {
                let outcome = leases.acquire(session, &format!("h{round}"), true);
                let token = lock(&outcome).fencing_token;
                assert!(token > last, "{token} after {last}");
                last = token;
            }
            clock.advance_secs(1);
        }
    }
}
