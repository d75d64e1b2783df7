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

impl LeaseLimits {
    /// Trims the ids and checks them as every store must, before touching
    /// any lease; `Err` carries the refusal to answer.
    pub fn check_ids<'a>(
        &self,
        session_id: &'a str,
        holder_id: &'a str,
    ) -> Result<(&'a str, &'a str), Box<LeaseOutcome>> {
        let refuse =
            |status, reason: String| Err(Box::new(LeaseOutcome::new(status, reason, None)));
        let session_id = session_id.trim();
        if session_id.is_empty() {
            return refuse(LeaseStatus::Error, REASON_SESSION_INVALID.to_owned());
        }
        let holder_id = holder_id.trim();
        if holder_id.is_empty() {
            return refuse(LeaseStatus::Error, REASON_HOLDER_INVALID.to_owned());
        }
        let max = self.max_id_bytes;
        if session_id.len() > max {
            return refuse(
                LeaseStatus::LimitExceeded,
                format!("session_id exceeds the limit of {max} bytes"),
            );
        }
        if holder_id.len() > max {
            return refuse(
                LeaseStatus::LimitExceeded,
                format!("lock_holder_id exceeds the limit of {max} bytes"),
            );
        }
        Ok((session_id, holder_id))
    }
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

    /// Acquires, refreshes or (with `force`) takes over a lease.
    pub fn acquire(&self, session_id: &str, holder_id: &str, force: bool) -> LeaseOutcome {
        let (session_id, holder_id) = match self.limits.check_ids(session_id, holder_id) {
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
        let (session_id, holder_id) = match self.limits.check_ids(session_id, holder_id) {
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
        let (session_id, holder_id) = match self.limits.check_ids(session_id, holder_id) {
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
        if let Err(refusal) = self.limits.check_ids(&active_session_id, holder_id) {
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
mod tests;
