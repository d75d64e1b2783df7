//! The Redis lease store against a real Redis: every answer of the in-memory
//! lease table's own tests, the same answers for random operation sequences,
//! replicas sharing one store, Redis's own expiry, concurrency and outages.
//!
//! Run with `WALKER_TEST_REDIS_URL=redis://127.0.0.1:6379/0`; without it every
//! test prints why it skipped and passes. Each test works under its own random
//! key prefix and deletes that prefix's keys when it ends, pass or fail.

mod common;

use common::redis::{Cleanup, PrivateRedis, free_port, redis_url, unique_prefix};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use walker_service::clock::{ManualClock, Millis};
use walker_service::domain::leases::{
    ActiveSession, EnforcementRefusal, LeaseLimits, LeaseOutcome, LeaseStatus, LeaseTable, LockInfo,
};
use walker_service::lease_store::redis::EXPIRY_SLACK;
use walker_service::lease_store::{LeaseStoreError, LeaseTime, RedisLeaseStore};

/// 2026-12-03T12:00:00Z, as in the table's tests.
const START_MS: Millis = 1_796_299_200_000;
const TTL_SECS: u64 = 45;
const OP_TIMEOUT: Duration = Duration::from_secs(5);

macro_rules! require_redis {
    () => {
        match redis_url() {
            Some(url) => url,
            None => return,
        }
    };
}

struct Fixture {
    store: RedisLeaseStore,
    clock: ManualClock,
    url: String,
    prefix: String,
    _cleanup: Cleanup,
}

/// A store on Redis's own clock (production time), as a replica would run.
async fn redis_time_store(url: &str, prefix: &str, ttl_secs: u64) -> RedisLeaseStore {
    RedisLeaseStore::connect(
        url,
        prefix,
        ttl_secs,
        LeaseLimits::default(),
        LeaseTime::Redis,
        OP_TIMEOUT,
    )
    .await
    .unwrap()
}

impl Fixture {
    async fn new(url: &str) -> Self {
        Self::with(url, LeaseLimits::default()).await
    }

    async fn with(url: &str, limits: LeaseLimits) -> Self {
        let prefix = unique_prefix();
        let cleanup = Cleanup {
            url: url.to_owned(),
            prefix: prefix.clone(),
        };
        let clock = ManualClock::new(START_MS);
        let store = connect(url, &prefix, limits, &clock).await;
        Self {
            store,
            clock,
            url: url.to_owned(),
            prefix,
            _cleanup: cleanup,
        }
    }

    /// Another replica on the same prefix and clock.
    async fn replica(&self) -> RedisLeaseStore {
        connect(&self.url, &self.prefix, LeaseLimits::default(), &self.clock).await
    }

    async fn raw(&self) -> redis::aio::MultiplexedConnection {
        raw_connection(&self.url).await
    }

    /// The keys under this fixture's prefix, without the prefix, sorted.
    async fn keys(&self) -> Vec<String> {
        let mut conn = self.raw().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut keys: Vec<String> = keys
            .into_iter()
            .map(|k| k[self.prefix.len()..].to_owned())
            .collect();
        keys.sort();
        keys
    }
}

async fn connect(
    url: &str,
    prefix: &str,
    limits: LeaseLimits,
    clock: &ManualClock,
) -> RedisLeaseStore {
    RedisLeaseStore::connect(
        url,
        prefix,
        TTL_SECS,
        limits,
        LeaseTime::Clock(Arc::new(clock.clone())),
        OP_TIMEOUT,
    )
    .await
    .unwrap()
}

async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn lock(outcome: &LeaseOutcome) -> &LockInfo {
    outcome.lock.as_ref().expect("outcome carries a lock")
}

// ---------------------------------------------------------------------------
// The in-memory table's unit tests, row by row, against Redis.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn acquire_rejects_blank_ids() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    for session in ["", "   ", "\t\n"] {
        let outcome = f.store.acquire(session, "h", false).await.unwrap();
        assert_eq!(outcome.status, LeaseStatus::Error);
        assert_eq!(outcome.status.as_str(), "error");
        assert_eq!(outcome.reason, "session_id missing or invalid");
        assert_eq!(outcome.lock, None);
    }
    let outcome = f.store.acquire("s", "  ", false).await.unwrap();
    assert_eq!(outcome.status, LeaseStatus::Error);
    assert_eq!(outcome.reason, "lock_holder_id missing or invalid");
    assert!(f.store.is_empty().await.unwrap());
}

#[tokio::test]
async fn first_acquire_creates_a_lease_with_second_precision_timestamps() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    f.clock.advance_ms(700);
    let outcome = f.store.acquire("s1", "tab-1", false).await.unwrap();
    assert_eq!(outcome.status, LeaseStatus::Acquired);
    assert_eq!(outcome.reason, "session lock acquired");
    let info = lock(&outcome);
    assert_eq!(info.session_id, "s1");
    assert_eq!(info.holder_id, "tab-1");
    assert_eq!(info.acquired_at_utc, "2026-12-03T12:00:00Z");
    assert_eq!(info.refreshed_at_utc, "2026-12-03T12:00:00Z");
    assert_eq!(info.expires_at_utc, "2026-12-03T12:00:45Z");
    assert!(info.fencing_token > 0);
    assert_eq!(outcome.previous, None);
}

#[tokio::test]
async fn ids_are_trimmed_before_use() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let first = f.store.acquire("  s1 ", " tab-1\t", false).await.unwrap();
    assert_eq!(lock(&first).session_id, "s1");
    assert_eq!(lock(&first).holder_id, "tab-1");
    let again = f.store.acquire("s1", "tab-1", false).await.unwrap();
    assert_eq!(again.status, LeaseStatus::Held);
    assert_eq!(f.store.len().await.unwrap(), 1);
}

#[tokio::test]
async fn same_holder_refreshes_and_keeps_acquired_at_and_token() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let first = f.store.acquire("s1", "tab-1", false).await.unwrap();
    f.clock.advance_secs(10);
    let refreshed = f.store.heartbeat("s1", "tab-1").await.unwrap();
    assert_eq!(refreshed.status, LeaseStatus::Held);
    assert_eq!(refreshed.status.as_str(), "held");
    assert_eq!(refreshed.reason, "session lock refreshed");
    let info = lock(&refreshed);
    assert_eq!(info.acquired_at_utc, "2026-12-03T12:00:00Z");
    assert_eq!(info.refreshed_at_utc, "2026-12-03T12:00:10Z");
    assert_eq!(info.expires_at_utc, "2026-12-03T12:00:55Z");
    assert_eq!(info.fencing_token, lock(&first).fencing_token);
}

#[tokio::test]
async fn another_holder_is_refused_with_the_existing_lock() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let first = f.store.acquire("s1", "tab-1", false).await.unwrap();
    let refused = f.store.acquire("s1", "tab-2", false).await.unwrap();
    assert_eq!(refused.status, LeaseStatus::Locked);
    assert_eq!(refused.status.as_str(), "locked");
    assert_eq!(refused.reason, "session lock held by another holder");
    assert_eq!(refused.lock, first.lock);
    let heartbeat = f.store.heartbeat("s1", "tab-2").await.unwrap();
    assert_eq!(heartbeat.status, LeaseStatus::Locked);
    assert_eq!(lock(&heartbeat).holder_id, "tab-1");
}

#[tokio::test]
async fn force_takes_over_with_a_new_grant() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let first = f.store.acquire("s1", "tab-1", false).await.unwrap();
    f.clock.advance_secs(5);
    let taken = f.store.acquire("s1", "tab-2", true).await.unwrap();
    assert_eq!(taken.status, LeaseStatus::TakenOver);
    assert_eq!(taken.status.as_str(), "taken_over");
    assert_eq!(taken.reason, "session lock takeover complete");
    let info = lock(&taken);
    assert_eq!(info.holder_id, "tab-2");
    assert_eq!(info.acquired_at_utc, "2026-12-03T12:00:05Z");
    assert!(info.fencing_token > lock(&first).fencing_token);
    assert_eq!(taken.previous, first.lock);
    // The old holder is now the one refused.
    assert_eq!(
        f.store.heartbeat("s1", "tab-1").await.unwrap().status,
        LeaseStatus::Locked
    );
}

#[tokio::test]
async fn force_by_the_holder_itself_is_a_refresh() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let first = f.store.acquire("s1", "tab-1", false).await.unwrap();
    let again = f.store.acquire("s1", "tab-1", true).await.unwrap();
    assert_eq!(again.status, LeaseStatus::Held);
    assert_eq!(lock(&again).fencing_token, lock(&first).fencing_token);
}

#[tokio::test]
async fn heartbeat_on_a_free_session_acquires_it() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let outcome = f.store.heartbeat("s1", "tab-1").await.unwrap();
    assert_eq!(outcome.status, LeaseStatus::Acquired);
    assert_eq!(outcome.reason, "session lock acquired");
}

#[tokio::test]
async fn leases_expire_at_ttl_and_a_new_holder_gets_a_larger_token() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let first = f.store.acquire("s1", "tab-1", false).await.unwrap();
    f.clock.advance_ms(44_999);
    assert_eq!(
        f.store.acquire("s1", "tab-2", false).await.unwrap().status,
        LeaseStatus::Locked
    );
    f.clock.advance_ms(1); // expires_at <= now: pruned
    assert_eq!(
        f.store.get("s1").await.unwrap().status,
        LeaseStatus::Unlocked
    );
    let second = f.store.acquire("s1", "tab-2", false).await.unwrap();
    assert_eq!(second.status, LeaseStatus::Acquired);
    assert!(lock(&second).fencing_token > lock(&first).fencing_token);
}

#[tokio::test]
async fn the_same_holder_after_expiry_gets_a_fresh_grant() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let first = f.store.acquire("s1", "tab-1", false).await.unwrap();
    f.clock.advance_secs(45);
    let again = f.store.heartbeat("s1", "tab-1").await.unwrap();
    assert_eq!(again.status, LeaseStatus::Acquired);
    assert_eq!(lock(&again).acquired_at_utc, "2026-12-03T12:00:45Z");
    assert!(lock(&again).fencing_token > lock(&first).fencing_token);
}

#[tokio::test]
async fn a_lease_refreshed_within_its_millisecond_still_expires() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    f.store.acquire_active("s1", "tab-1", false).await.unwrap();
    f.store.heartbeat("s1", "tab-1").await.unwrap();
    f.store.acquire("s1", "tab-1", true).await.unwrap();
    assert_eq!(f.store.enforce_active(Some("tab-1")).await.unwrap(), Ok(()));
    f.clock.advance_secs(45);
    assert_eq!(
        f.store.get("s1").await.unwrap().status,
        LeaseStatus::Unlocked
    );
    assert_eq!(f.store.len().await.unwrap(), 0);
    assert_eq!(f.store.active().await.unwrap().holder_id, None);
}

#[tokio::test]
async fn a_refresh_pushes_expiry_back() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    f.store.acquire("s1", "tab-1", false).await.unwrap();
    f.clock.advance_secs(30);
    f.store.heartbeat("s1", "tab-1").await.unwrap();
    f.clock.advance_secs(30);
    assert_eq!(f.store.get("s1").await.unwrap().status, LeaseStatus::Locked);
    f.clock.advance_secs(15);
    assert_eq!(
        f.store.get("s1").await.unwrap().status,
        LeaseStatus::Unlocked
    );
}

#[tokio::test]
async fn release_answers_every_case() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let leases = &f.store;
    let blank = leases.release(" ", "tab-1").await.unwrap();
    assert_eq!(
        (blank.status, blank.reason.as_str()),
        (LeaseStatus::Error, "session_id missing or invalid")
    );
    let blank_holder = leases.release("s1", "").await.unwrap();
    assert_eq!(
        (blank_holder.status, blank_holder.reason.as_str()),
        (LeaseStatus::Error, "lock_holder_id missing or invalid")
    );
    let missing = leases.release("s1", "tab-1").await.unwrap();
    assert_eq!(missing.status, LeaseStatus::Missing);
    assert_eq!(missing.status.as_str(), "missing");
    assert_eq!(missing.reason, "session lock not found");
    assert_eq!(missing.lock, None);

    let held = leases.acquire("s1", "tab-1", false).await.unwrap();
    let other = leases.release("s1", "tab-2").await.unwrap();
    assert_eq!(other.status, LeaseStatus::Locked);
    assert_eq!(other.reason, "session lock held by another holder");
    assert_eq!(other.lock, held.lock);
    assert_eq!(leases.get("s1").await.unwrap().status, LeaseStatus::Locked);

    let released = leases.release(" s1", "tab-1 ").await.unwrap();
    assert_eq!(released.status, LeaseStatus::Released);
    assert_eq!(released.status.as_str(), "released");
    assert_eq!(released.reason, "session lock released");
    assert_eq!(released.lock, held.lock);
    assert_eq!(
        leases.get("s1").await.unwrap().status,
        LeaseStatus::Unlocked
    );
}

#[tokio::test]
async fn get_answers_every_case() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let leases = &f.store;
    let blank = leases.get("  ").await.unwrap();
    assert_eq!(blank.status, LeaseStatus::Error);
    assert_eq!(blank.reason, "session_id missing or invalid");
    let none = leases.get("s1").await.unwrap();
    assert_eq!(none.status, LeaseStatus::Unlocked);
    assert_eq!(none.status.as_str(), "unlocked");
    assert_eq!(none.reason, "no active lock");
    assert_eq!(none.lock, None);
    let held = leases.acquire("s1", "tab-1", false).await.unwrap();
    let present = leases.get(" s1 ").await.unwrap();
    assert_eq!(present.status, LeaseStatus::Locked);
    assert_eq!(present.reason, "active lock present");
    assert_eq!(present.lock, held.lock);
}

#[tokio::test]
async fn acquire_active_sets_the_active_session_and_release_clears_its_holder() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let leases = &f.store;
    assert_eq!(leases.active().await.unwrap(), ActiveSession::default());
    leases.acquire_active("s1", "tab-1", false).await.unwrap();
    assert_eq!(
        leases.active().await.unwrap(),
        ActiveSession {
            session_id: Some("s1".into()),
            holder_id: Some("tab-1".into()),
        }
    );
    // A refused acquire does not move the active session.
    assert_eq!(
        leases
            .acquire_active("s1", "tab-2", false)
            .await
            .unwrap()
            .status,
        LeaseStatus::Locked
    );
    assert_eq!(
        leases.active().await.unwrap().holder_id.as_deref(),
        Some("tab-1")
    );
    // Takeover moves it.
    leases.acquire_active("s1", "tab-2", true).await.unwrap();
    assert_eq!(
        leases.active().await.unwrap().holder_id.as_deref(),
        Some("tab-2")
    );
    leases.release("s1", "tab-2").await.unwrap();
    assert_eq!(
        leases.active().await.unwrap(),
        ActiveSession {
            session_id: Some("s1".into()),
            holder_id: None,
        }
    );
}

#[tokio::test]
async fn release_of_a_missing_active_session_clears_the_active_holder() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let leases = &f.store;
    leases.acquire_active("s1", "tab-1", false).await.unwrap();
    // Another session's release leaves the active holder alone.
    leases.release("s2", "tab-1").await.unwrap();
    assert_eq!(
        leases.active().await.unwrap().holder_id.as_deref(),
        Some("tab-1")
    );
    f.clock.advance_secs(45);
    assert_eq!(
        leases.release("s1", "tab-1").await.unwrap().status,
        LeaseStatus::Missing
    );
    assert_eq!(leases.active().await.unwrap().holder_id, None);
    assert_eq!(
        leases.active().await.unwrap().session_id.as_deref(),
        Some("s1")
    );
}

#[tokio::test]
async fn pruning_the_active_lease_clears_the_holder_not_the_session() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    f.store.acquire_active("s1", "tab-1", false).await.unwrap();
    f.clock.advance_secs(45);
    let active = f.store.active().await.unwrap();
    assert_eq!(active.session_id.as_deref(), Some("s1"));
    assert_eq!(active.holder_id, None);
}

#[tokio::test]
async fn enforcement_allows_everything_without_an_active_holder() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let leases = &f.store;
    assert_eq!(leases.enforce_active(None).await.unwrap(), Ok(()));
    assert_eq!(leases.enforce_active(Some("  ")).await.unwrap(), Ok(()));
    leases.acquire("s1", "tab-1", false).await.unwrap(); // not active: plain acquire
    assert_eq!(leases.enforce_active(None).await.unwrap(), Ok(()));
}

#[tokio::test]
async fn enforcement_refuses_missing_blank_and_other_holders() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let leases = &f.store;
    let held = leases.acquire_active("s1", "tab-1", false).await.unwrap();
    assert_eq!(
        leases.enforce_active(None).await.unwrap(),
        Err(EnforcementRefusal::MissingHolder {
            active_session_id: "s1".into()
        })
    );
    assert_eq!(
        leases.enforce_active(Some(" ")).await.unwrap(),
        Err(EnforcementRefusal::BlankHolder {
            active_session_id: "s1".into()
        })
    );
    assert_eq!(
        leases.enforce_active(Some("tab-2")).await.unwrap(),
        Err(EnforcementRefusal::HeldByOther {
            active_session_id: "s1".into(),
            lock: held.lock.clone().map(Box::new),
        })
    );
    assert_eq!(
        leases.enforce_active(Some(" tab-1 ")).await.unwrap(),
        Ok(())
    );
}

#[tokio::test]
async fn enforcement_refreshes_the_active_lease() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    f.store.acquire_active("s1", "tab-1", false).await.unwrap();
    f.clock.advance_secs(40);
    assert_eq!(f.store.enforce_active(Some("tab-1")).await.unwrap(), Ok(()));
    f.clock.advance_secs(40);
    assert_eq!(f.store.get("s1").await.unwrap().status, LeaseStatus::Locked);
}

#[tokio::test]
async fn an_expired_active_lease_guards_nothing() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    f.store.acquire_active("s1", "tab-1", false).await.unwrap();
    f.clock.advance_secs(45);
    assert_eq!(f.store.enforce_active(None).await.unwrap(), Ok(()));
    assert_eq!(f.store.enforce_active(Some("tab-2")).await.unwrap(), Ok(()));
}

#[tokio::test]
async fn enforcement_reports_other_refusals_as_validation_failures() {
    let url = require_redis!();
    let f = Fixture::with(
        &url,
        LeaseLimits {
            max_id_bytes: 8,
            max_leases: 10,
        },
    )
    .await;
    f.store.acquire_active("s1", "tab-1", false).await.unwrap();
    match f
        .store
        .enforce_active(Some("a-very-long-holder"))
        .await
        .unwrap()
    {
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

#[tokio::test]
async fn detach_releases_the_callers_active_lease_and_clears_the_session() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let leases = &f.store;
    leases.acquire_active("s1", "tab-1", false).await.unwrap();
    leases.detach_active(Some("tab-1")).await.unwrap();
    assert_eq!(leases.active().await.unwrap(), ActiveSession::default());
    assert_eq!(
        leases.get("s1").await.unwrap().status,
        LeaseStatus::Unlocked
    );

    leases.acquire_active("s2", "tab-1", false).await.unwrap();
    leases.detach_active(Some("tab-2")).await.unwrap();
    assert_eq!(leases.active().await.unwrap(), ActiveSession::default());
    assert_eq!(leases.get("s2").await.unwrap().status, LeaseStatus::Locked);

    leases.acquire_active("s3", "tab-1", false).await.unwrap();
    leases.detach_active(None).await.unwrap();
    assert_eq!(leases.active().await.unwrap(), ActiveSession::default());
    assert_eq!(leases.get("s3").await.unwrap().status, LeaseStatus::Locked);
}

#[tokio::test]
async fn limits_refuse_long_ids_and_too_many_leases() {
    let url = require_redis!();
    let f = Fixture::with(
        &url,
        LeaseLimits {
            max_id_bytes: 4,
            max_leases: 2,
        },
    )
    .await;
    let leases = &f.store;
    let long = leases.acquire("s-too-long", "h", false).await.unwrap();
    assert_eq!(long.status, LeaseStatus::LimitExceeded);
    assert_eq!(long.status.as_str(), "error");
    assert_eq!(long.reason, "session_id exceeds the limit of 4 bytes");
    let long_holder = leases.acquire("s", "holder", false).await.unwrap();
    assert_eq!(long_holder.status, LeaseStatus::LimitExceeded);
    assert_eq!(
        long_holder.reason,
        "lock_holder_id exceeds the limit of 4 bytes"
    );
    leases.acquire("s1", "h", false).await.unwrap();
    leases.acquire("s2", "h", false).await.unwrap();
    let third = leases.acquire("s3", "h", false).await.unwrap();
    assert_eq!(third.status, LeaseStatus::LimitExceeded);
    assert_eq!(third.reason, "too many session locks (limit 2)");
    assert_eq!(third.lock, None);
    // Existing leases still refresh and can be taken over at the limit.
    assert_eq!(
        leases.heartbeat("s1", "h").await.unwrap().status,
        LeaseStatus::Held
    );
    assert_eq!(
        leases.acquire("s2", "g", true).await.unwrap().status,
        LeaseStatus::TakenOver
    );
    // Expired leases stop counting, and a release frees a place at once.
    f.clock.advance_secs(45);
    assert_eq!(
        leases.acquire("s3", "h", false).await.unwrap().status,
        LeaseStatus::Acquired
    );
    assert_eq!(
        leases.acquire("s4", "h", false).await.unwrap().status,
        LeaseStatus::Acquired
    );
    leases.release("s4", "h").await.unwrap();
    assert_eq!(
        leases.acquire("s5", "h", false).await.unwrap().status,
        LeaseStatus::Acquired
    );
    assert_eq!(leases.len().await.unwrap(), 2);
}

#[tokio::test]
async fn fencing_tokens_only_grow_across_sessions_and_grants() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let mut last = 0;
    for round in 0..5 {
        for session in ["s1", "s2"] {
            let outcome = f
                .store
                .acquire(session, &format!("h{round}"), true)
                .await
                .unwrap();
            let token = lock(&outcome).fencing_token;
            assert!(token > last, "{token} after {last}");
            last = token;
        }
        f.clock.advance_secs(1);
    }
}

// ---------------------------------------------------------------------------
// Random operation sequences: the store answers exactly like the table.
// ---------------------------------------------------------------------------

/// A small deterministic generator, so a failing sequence can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// True about once in `n` calls.
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Pairs the table's fencing tokens with the store's: both must hand out
/// new tokens at the same steps, each larger than every earlier one.
#[derive(Default)]
struct TokenMap {
    table_to_store: BTreeMap<u64, u64>,
}

impl TokenMap {
    fn pair(&mut self, table: Option<&LockInfo>, store: Option<&LockInfo>, step: &str) {
        match (table, store) {
            (Some(t), Some(s)) => match self.table_to_store.get(&t.fencing_token) {
                Some(&known) => assert_eq!(known, s.fencing_token, "{step}"),
                None => {
                    let (&last_t, &last_s) =
                        self.table_to_store.last_key_value().unwrap_or((&0, &0));
                    assert!(t.fencing_token > last_t, "{step}");
                    assert!(s.fencing_token > last_s, "{step}");
                    self.table_to_store.insert(t.fencing_token, s.fencing_token);
                }
            },
            (None, None) => {}
            _ => panic!("{step}: one side has a lock, the other not"),
        }
    }
}

fn without_token(lock: &Option<LockInfo>) -> Option<LockInfo> {
    lock.clone().map(|l| LockInfo {
        fencing_token: 0,
        ..l
    })
}

fn compare_outcomes(table: &LeaseOutcome, store: &LeaseOutcome, tokens: &mut TokenMap, step: &str) {
    assert_eq!(table.status, store.status, "{step}");
    assert_eq!(table.reason, store.reason, "{step}");
    assert_eq!(
        without_token(&table.lock),
        without_token(&store.lock),
        "{step}"
    );
    assert_eq!(
        without_token(&table.previous),
        without_token(&store.previous),
        "{step}"
    );
    tokens.pair(table.previous.as_ref(), store.previous.as_ref(), step);
    tokens.pair(table.lock.as_ref(), store.lock.as_ref(), step);
}

#[tokio::test]
async fn random_sequences_answer_exactly_like_the_in_memory_table() {
    let url = require_redis!();
    for seed in [0x9E37_79B9_7F4A_7C15, 0xD1B5_4A32_D192_ED03, 42, 7] {
        compare_sequence(&url, seed).await;
    }
}

/// Runs one random sequence on a fresh table and a fresh store side by side.
async fn compare_sequence(url: &str, seed: u64) {
    let limits = LeaseLimits {
        max_id_bytes: 8,
        max_leases: 3,
    };
    let f = Fixture::with(url, limits).await;
    let table = LeaseTable::new(Arc::new(f.clock.clone()), TTL_SECS, limits);
    // Mostly valid ids, so most steps reach Redis; some blank or too long.
    let sessions = [
        "s1",
        "s2",
        "s3",
        "s4",
        "s1",
        "s2",
        " s1 ",
        "",
        "session-too-long",
    ];
    let holders = ["h1", "h2", "h3", "h1", "h2", " h1", "", "holder-too-long"];
    let mut rng = XorShift(seed);
    let mut tokens = TokenMap::default();
    for step in 0..600 {
        // Steps are at least 1 ms apart: the table loses track of the expiry
        // of a lease refreshed in the same millisecond it was written (its
        // expiry index entry goes with the old one), so it would keep that
        // lease forever. The store's side of that case has its own test,
        // `a_lease_refreshed_within_its_millisecond_still_expires`.
        f.clock.advance_ms(1);
        let session = rng.pick(&sessions);
        let holder = rng.pick(&holders);
        let op = rng.next() % 12;
        let label = format!("seed {seed}, step {step}: op {op} on {session:?} by {holder:?}");
        match op {
            0 | 1 => {
                let force = rng.one_in(3);
                let t = table.acquire(session, holder, force);
                let s = f.store.acquire(session, holder, force).await.unwrap();
                compare_outcomes(&t, &s, &mut tokens, &label);
            }
            2 => {
                let t = table.heartbeat(session, holder);
                let s = f.store.heartbeat(session, holder).await.unwrap();
                compare_outcomes(&t, &s, &mut tokens, &label);
            }
            3 => {
                let t = table.release(session, holder);
                let s = f.store.release(session, holder).await.unwrap();
                compare_outcomes(&t, &s, &mut tokens, &label);
            }
            4 => {
                let t = table.get(session);
                let s = f.store.get(session).await.unwrap();
                compare_outcomes(&t, &s, &mut tokens, &label);
            }
            5 | 6 => {
                let force = rng.one_in(2);
                let t = table.acquire_active(session, holder, force);
                let s = f
                    .store
                    .acquire_active(session, holder, force)
                    .await
                    .unwrap();
                compare_outcomes(&t, &s, &mut tokens, &label);
            }
            7 | 8 => {
                let given = if rng.one_in(5) { None } else { Some(holder) };
                let t = table.enforce_active(given);
                let s = f.store.enforce_active(given).await.unwrap();
                match (&t, &s) {
                    (
                        Err(EnforcementRefusal::HeldByOther {
                            active_session_id: ta,
                            lock: tl,
                        }),
                        Err(EnforcementRefusal::HeldByOther {
                            active_session_id: sa,
                            lock: sl,
                        }),
                    ) => {
                        assert_eq!(ta, sa, "{label}");
                        let tl = tl.as_deref().cloned();
                        let sl = sl.as_deref().cloned();
                        assert_eq!(without_token(&tl), without_token(&sl), "{label}");
                        tokens.pair(tl.as_ref(), sl.as_ref(), &label);
                    }
                    _ => assert_eq!(t, s, "{label}"),
                }
            }
            9 => {
                let given = if rng.one_in(4) { None } else { Some(holder) };
                table.detach_active(given);
                f.store.detach_active(given).await.unwrap();
            }
            10 => {
                f.clock.advance_ms(rng.next() % 20_000);
            }
            _ => {
                f.clock.advance_ms(rng.next() % 2_000);
            }
        }
        assert_eq!(table.active(), f.store.active().await.unwrap(), "{label}");
        assert_eq!(table.len(), f.store.len().await.unwrap(), "{label}");
    }
    assert!(
        tokens.table_to_store.len() > 20,
        "the sequence granted too few leases to mean much"
    );
}

// ---------------------------------------------------------------------------
// What only a shared store has to get right.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn two_replicas_share_leases_takeovers_and_the_active_session() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let a = &f.store;
    let b = f.replica().await;

    let first = a.acquire_active("s1", "tab-1", false).await.unwrap();
    assert_eq!(first.status, LeaseStatus::Acquired);
    let seen = b.get("s1").await.unwrap();
    assert_eq!(seen.status, LeaseStatus::Locked);
    assert_eq!(seen.lock, first.lock);
    assert_eq!(
        b.active().await.unwrap(),
        ActiveSession {
            session_id: Some("s1".into()),
            holder_id: Some("tab-1".into()),
        }
    );
    assert_eq!(
        b.enforce_active(Some("tab-2")).await.unwrap(),
        Err(EnforcementRefusal::HeldByOther {
            active_session_id: "s1".into(),
            lock: first.lock.clone().map(Box::new),
        })
    );
    assert_eq!(b.enforce_active(Some("tab-1")).await.unwrap(), Ok(()));

    f.clock.advance_secs(3);
    let taken = b.acquire_active("s1", "tab-2", true).await.unwrap();
    assert_eq!(taken.status, LeaseStatus::TakenOver);
    assert_eq!(taken.previous, first.lock);
    assert!(lock(&taken).fencing_token > lock(&first).fencing_token);
    assert_eq!(
        a.active().await.unwrap().holder_id.as_deref(),
        Some("tab-2")
    );
    let refused = a.heartbeat("s1", "tab-1").await.unwrap();
    assert_eq!(refused.status, LeaseStatus::Locked);
    assert_eq!(refused.lock, taken.lock);

    assert_eq!(
        a.release("s1", "tab-2").await.unwrap().status,
        LeaseStatus::Released
    );
    assert_eq!(
        b.active().await.unwrap(),
        ActiveSession {
            session_id: Some("s1".into()),
            holder_id: None,
        }
    );
    assert_eq!(b.get("s1").await.unwrap().status, LeaseStatus::Unlocked);

    // Another prefix is another table.
    let other = Fixture::new(&url).await;
    b.acquire("s2", "tab-1", false).await.unwrap();
    assert_eq!(
        other.store.get("s2").await.unwrap().status,
        LeaseStatus::Unlocked
    );
    assert_eq!(
        other.store.active().await.unwrap(),
        ActiveSession::default()
    );
}

#[tokio::test]
async fn fencing_tokens_grow_across_replicas() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    let replicas = [f.store.clone(), f.replica().await];
    let mut last = 0;
    for round in 0..10 {
        let store = &replicas[round % 2];
        let outcome = store
            .acquire("s1", &format!("h{round}"), true)
            .await
            .unwrap();
        let token = lock(&outcome).fencing_token;
        assert!(token > last, "{token} after {last}");
        last = token;
        // A refresh from the other replica keeps the token.
        let refreshed = replicas[(round + 1) % 2]
            .heartbeat("s1", &format!("h{round}"))
            .await
            .unwrap();
        assert_eq!(refreshed.status, LeaseStatus::Held);
        assert_eq!(lock(&refreshed).fencing_token, token);
    }
}

#[tokio::test]
async fn keys_live_under_the_prefix_and_carry_a_redis_expiry() {
    let url = require_redis!();
    let f = Fixture::new(&url).await;
    f.store.acquire("s1", "tab-1", false).await.unwrap();
    assert_eq!(f.keys().await, ["expiry", "fencing", "lease:s1"]);
    let mut conn = f.raw().await;
    let keep = TTL_SECS as i64 * 1000 + EXPIRY_SLACK.as_millis() as i64;
    for key in ["lease:s1", "expiry"] {
        let pttl: i64 = redis::cmd("PTTL")
            .arg(format!("{}{key}", f.prefix))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(pttl > keep - 5_000 && pttl <= keep, "{key}: {pttl}");
    }
    f.store.acquire_active("s2", "tab-1", false).await.unwrap();
    assert_eq!(
        f.keys().await,
        ["active", "expiry", "fencing", "lease:s1", "lease:s2"]
    );
    f.store.release("s1", "tab-1").await.unwrap();
    f.store.release("s2", "tab-1").await.unwrap();
    // Released leases leave nothing behind but the counter and the active id.
    assert_eq!(f.keys().await, ["active", "fencing"]);
}

#[tokio::test]
async fn a_lease_that_redis_dropped_by_itself_is_gone_everywhere() {
    let url = require_redis!();
    let f = Fixture::with(
        &url,
        LeaseLimits {
            max_id_bytes: 64,
            max_leases: 1,
        },
    )
    .await;
    f.store.acquire_active("s1", "tab-1", false).await.unwrap();
    // Stands in for Redis's own expiry (or an eviction) firing before the
    // injected clock says the lease is over.
    let mut conn = f.raw().await;
    let _: i64 = redis::cmd("DEL")
        .arg(format!("{}lease:s1", f.prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        f.store.active().await.unwrap(),
        ActiveSession {
            session_id: Some("s1".into()),
            holder_id: None,
        }
    );
    assert_eq!(
        f.store.get("s1").await.unwrap().status,
        LeaseStatus::Unlocked
    );
    assert_eq!(f.store.len().await.unwrap(), 0);
    assert_eq!(
        f.store.acquire("s2", "tab-2", false).await.unwrap().status,
        LeaseStatus::Acquired
    );
}

#[tokio::test]
async fn redis_expires_a_lease_by_itself_on_its_own_clock() {
    let url = require_redis!();
    let prefix = unique_prefix();
    let _cleanup = Cleanup {
        url: url.clone(),
        prefix: prefix.clone(),
    };
    let store = redis_time_store(&url, &prefix, 1).await;
    let first = store.acquire("s1", "tab-1", false).await.unwrap();
    assert_eq!(first.status, LeaseStatus::Acquired);
    let mut conn = raw_connection(&url).await;
    let lease_key = format!("{prefix}lease:s1");
    let exists = |conn: &mut redis::aio::MultiplexedConnection, key: String| {
        let mut conn = conn.clone();
        async move {
            let n: i64 = redis::cmd("EXISTS")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap();
            n == 1
        }
    };
    assert!(exists(&mut conn, lease_key.clone()).await);
    // No store call in between: only Redis itself can remove the keys.
    tokio::time::sleep(Duration::from_millis(1000) + EXPIRY_SLACK + Duration::from_millis(400))
        .await;
    assert!(!exists(&mut conn, lease_key).await);
    assert!(!exists(&mut conn, format!("{prefix}expiry")).await);
    assert_eq!(store.get("s1").await.unwrap().status, LeaseStatus::Unlocked);
    let second = store.acquire("s1", "tab-2", false).await.unwrap();
    assert_eq!(second.status, LeaseStatus::Acquired);
    assert!(lock(&second).fencing_token > lock(&first).fencing_token);
}

#[tokio::test]
async fn redis_time_expires_leases_logically_before_redis_drops_them() {
    let url = require_redis!();
    let prefix = unique_prefix();
    let _cleanup = Cleanup {
        url: url.clone(),
        prefix: prefix.clone(),
    };
    let store = redis_time_store(&url, &prefix, 1).await;
    store.acquire_active("s1", "tab-1", false).await.unwrap();
    assert_eq!(store.get("s1").await.unwrap().status, LeaseStatus::Locked);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // The key may still be in Redis (slack), but the lease is over.
    assert_eq!(store.get("s1").await.unwrap().status, LeaseStatus::Unlocked);
    assert_eq!(
        store.active().await.unwrap(),
        ActiveSession {
            session_id: Some("s1".into()),
            holder_id: None,
        }
    );
}

// ---------------------------------------------------------------------------
// Concurrency.
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Seen {
    session: String,
    holder: String,
    status: LeaseStatus,
    token: Option<u64>,
    token_holder: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_replicas_never_hand_one_grant_to_two_holders() {
    const TASKS: usize = 32;
    const ROUNDS: u64 = 40;
    const SESSIONS: [&str; 3] = ["c1", "c2", "c3"];
    let url = require_redis!();
    let prefix = unique_prefix();
    let _cleanup = Cleanup {
        url: url.clone(),
        prefix: prefix.clone(),
    };
    let mut replicas = Vec::new();
    for _ in 0..2 {
        replicas.push(redis_time_store(&url, &prefix, TTL_SECS).await);
    }
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let store = replicas[task % 2].clone();
        tasks.push(tokio::spawn(async move {
            let holder = format!("holder-{task}");
            let mut rng = XorShift(0x2545_F491_4F6C_DD1D ^ (task as u64 + 1));
            let mut seen = Vec::new();
            let mut record = |session: &str, outcome: LeaseOutcome| {
                seen.push(Seen {
                    session: session.to_owned(),
                    holder: holder.clone(),
                    status: outcome.status,
                    token: outcome.lock.as_ref().map(|l| l.fencing_token),
                    token_holder: outcome.lock.as_ref().map(|l| l.holder_id.clone()),
                });
            };
            for _ in 0..ROUNDS {
                let session = SESSIONS[(rng.next() % 3) as usize];
                let beat = store.heartbeat(session, &holder).await.unwrap();
                let granted = matches!(beat.status, LeaseStatus::Acquired | LeaseStatus::Held);
                record(session, beat);
                // Mostly let go of what was granted, so sessions change hands;
                // sometimes release blindly, which may hit another's lease.
                if (granted && !rng.one_in(3)) || rng.one_in(5) {
                    let released = store.release(session, &holder).await.unwrap();
                    record(session, released);
                }
            }
            seen
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }

    // No token was ever reported with two different holders or sessions.
    let mut owner: HashMap<u64, (String, String)> = HashMap::new();
    for seen in &all {
        if let (Some(token), Some(holder)) = (seen.token, &seen.token_holder) {
            let entry = owner
                .entry(token)
                .or_insert_with(|| (seen.session.clone(), holder.clone()));
            assert_eq!(entry, &(seen.session.clone(), holder.clone()), "{seen:?}");
        }
    }
    // Grants are what the caller itself was granted; releases its own lease.
    let mut grants: HashMap<&str, usize> = HashMap::new();
    let mut releases: HashMap<&str, usize> = HashMap::new();
    for seen in &all {
        match seen.status {
            LeaseStatus::Acquired => {
                assert_eq!(seen.token_holder.as_ref(), Some(&seen.holder));
                *grants.entry(seen.session.as_str()).or_default() += 1;
            }
            LeaseStatus::Released => {
                assert_eq!(seen.token_holder.as_ref(), Some(&seen.holder));
                *releases.entry(seen.session.as_str()).or_default() += 1;
            }
            LeaseStatus::Held => assert_eq!(seen.token_holder.as_ref(), Some(&seen.holder)),
            LeaseStatus::Locked => assert_ne!(seen.token_holder.as_ref(), Some(&seen.holder)),
            LeaseStatus::Missing => assert_eq!(seen.token, None),
            other => panic!("unexpected {other:?}"),
        }
    }
    let acquired_tokens: Vec<u64> = all
        .iter()
        .filter(|s| s.status == LeaseStatus::Acquired)
        .filter_map(|s| s.token)
        .collect();
    let mut unique = acquired_tokens.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        acquired_tokens.len(),
        "a grant token repeated"
    );

    let mut total_grants = 0;
    for session in SESSIONS {
        let held = match replicas[0].get(session).await.unwrap().status {
            LeaseStatus::Locked => 1,
            LeaseStatus::Unlocked => 0,
            other => panic!("unexpected {other:?}"),
        };
        let granted = grants.get(session).copied().unwrap_or(0);
        let released = releases.get(session).copied().unwrap_or(0);
        assert_eq!(granted, released + held, "{session}");
        total_grants += granted;
    }
    assert!(total_grants > 50, "too little churn: {total_grants} grants");
}

// ---------------------------------------------------------------------------
// Outages.
// ---------------------------------------------------------------------------

fn assert_fails_in_time<T: std::fmt::Debug>(
    result: Result<T, LeaseStoreError>,
    started: Instant,
    deadline: Duration,
) -> LeaseStoreError {
    let elapsed = started.elapsed();
    assert!(
        elapsed < deadline + Duration::from_millis(500),
        "answered after {elapsed:?}"
    );
    let error = result.expect_err("an unreachable Redis must fail");
    assert!(
        error.to_string().starts_with("lease store unavailable: "),
        "{error}"
    );
    error
}

#[tokio::test]
async fn an_unreachable_redis_fails_within_the_deadline() {
    let _url = require_redis!();
    let deadline = Duration::from_millis(400);
    // Nobody listens: connections are refused, and retried until the deadline.
    let started = Instant::now();
    let refused = RedisLeaseStore::connect(
        &format!("redis://127.0.0.1:{}/0", free_port()),
        "walker:",
        TTL_SECS,
        LeaseLimits::default(),
        LeaseTime::Redis,
        deadline,
    )
    .await;
    assert_fails_in_time(refused, started, deadline);

    // Something listens but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let silent_result = RedisLeaseStore::connect(
        &format!("redis://127.0.0.1:{port}/0"),
        "walker:",
        TTL_SECS,
        LeaseLimits::default(),
        LeaseTime::Redis,
        deadline,
    )
    .await;
    assert_fails_in_time(silent_result, started, deadline);
    silent.abort();

    let invalid = RedisLeaseStore::connect(
        "not a url",
        "walker:",
        TTL_SECS,
        LeaseLimits::default(),
        LeaseTime::Redis,
        deadline,
    )
    .await;
    assert!(matches!(invalid, Err(LeaseStoreError::InvalidUrl(_))));
}

#[tokio::test]
async fn a_restarted_redis_is_reconnected_and_tokens_keep_growing() {
    let _url = require_redis!();
    let port = free_port();
    let Some(mut server) = PrivateRedis::start(port) else {
        eprintln!("skipped: redis-server could not be started");
        return;
    };
    let deadline = Duration::from_millis(500);
    let store = RedisLeaseStore::connect(
        &server.url(),
        "walker:",
        TTL_SECS,
        LeaseLimits::default(),
        LeaseTime::Redis,
        deadline,
    )
    .await
    .unwrap();
    let before = store.acquire_active("s1", "tab-1", false).await.unwrap();
    assert_eq!(before.status, LeaseStatus::Acquired);
    store.ping().await.unwrap();

    server.stop();
    for _ in 0..3 {
        let started = Instant::now();
        assert_fails_in_time(store.heartbeat("s1", "tab-1").await, started, deadline);
        let started = Instant::now();
        assert_fails_in_time(store.ping().await, started, deadline);
        let started = Instant::now();
        assert_fails_in_time(store.enforce_active(Some("tab-1")).await, started, deadline);
    }

    let mut server = PrivateRedis::start(port).expect("restart redis-server");
    let started = Instant::now();
    let after = loop {
        match store.heartbeat("s1", "tab-1").await {
            Ok(outcome) => break outcome,
            Err(error) => {
                assert!(
                    started.elapsed() < Duration::from_secs(15),
                    "no recovery: {error}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // Redis lost everything (no persistence): a fresh grant, whose token is
    // still larger than any handed out before the restart.
    assert_eq!(after.status, LeaseStatus::Acquired);
    assert!(
        lock(&after).fencing_token > lock(&before).fencing_token,
        "{} after {}",
        lock(&after).fencing_token,
        lock(&before).fencing_token
    );
    assert_eq!(store.active().await.unwrap(), ActiveSession::default());
    store.ping().await.unwrap();
    server.stop();
}
