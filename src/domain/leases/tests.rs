//! Every row of SEMANTICS §4 against the in-memory table, with a clock the
//! tests move.

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
