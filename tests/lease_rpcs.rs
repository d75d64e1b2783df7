//! HeartbeatLock, ReleaseLock, AcquireLock and GetLock over a real socket
//! (SEMANTICS §4-§5).

mod common;

use common::calls::{self, heartbeat, release};
use common::{Store, TestServer};
use walker_service::api::pb::{ErrorCode, HeartbeatLockRequest, WalkerError};

fn assert_error(error: &WalkerError, code: ErrorCode, message: &str, lock_status: Option<&str>) {
    calls::assert_error(error, code, message);
    assert_eq!(
        error.lock_status.as_deref(),
        lock_status,
        "lock_status of {error:?}"
    );
}

async fn heartbeat_and_release_validate_the_request_in_order(store: Store) {
    let Some(server) = TestServer::start_on(store).await else {
        return;
    };
    let mut client = server.client().await;
    for (session, holder, message) in [
        ("", Some("tab-1"), "Missing or invalid session_id."),
        ("   ", Some("tab-1"), "Missing or invalid session_id."),
        // session first: both bad answers the session error
        ("", None, "Missing or invalid session_id."),
        ("s1", None, "Missing lock_holder_id."),
        (
            "s1",
            Some(""),
            "lock_holder_id must not be blank when provided.",
        ),
        (
            "s1",
            Some(" \t"),
            "lock_holder_id must not be blank when provided.",
        ),
    ] {
        let error = heartbeat(&mut client, session, holder).await.unwrap_err();
        assert_error(&error, ErrorCode::InvalidArgument, message, None);
        assert!(error.lock.is_none());
        let error = release(&mut client, session, holder).await.unwrap_err();
        assert_error(&error, ErrorCode::InvalidArgument, message, None);
    }
    assert!(server.app.leases().is_empty().await.unwrap());
    server.stop().await;
}

async fn heartbeat_acquires_then_holds(store: Store) {
    let Some(server) = TestServer::start_on(store).await else {
        return;
    };
    let mut client = server.client().await;
    let first = heartbeat(&mut client, "s1", Some("tab-1")).await.unwrap();
    assert_eq!(first.status, "held");
    assert_eq!(first.reason, "session lock acquired");
    let lock = first.lock.clone().unwrap();
    assert_eq!(lock.session_id, "s1");
    assert_eq!(lock.holder_id, "tab-1");
    assert_eq!(lock.acquired_at_utc, "2026-12-03T12:00:00Z");
    assert_eq!(lock.expires_at_utc, "2026-12-03T12:00:45Z");
    assert!(lock.fencing_token > 0);

    server.clock.advance_secs(20);
    let second = heartbeat(&mut client, " s1 ", Some(" tab-1 "))
        .await
        .unwrap();
    assert_eq!(second.status, "held");
    assert_eq!(second.reason, "session lock refreshed");
    let refreshed = second.lock.unwrap();
    assert_eq!(refreshed.acquired_at_utc, "2026-12-03T12:00:00Z");
    assert_eq!(refreshed.refreshed_at_utc, "2026-12-03T12:00:20Z");
    assert_eq!(refreshed.expires_at_utc, "2026-12-03T12:01:05Z");
    assert_eq!(refreshed.fencing_token, lock.fencing_token);
    server.stop().await;
}

async fn holder_b_is_refused_while_a_holds_and_gets_in_after_expiry(store: Store) {
    let Some(server) = TestServer::start_on(store).await else {
        return;
    };
    let mut client = server.client().await;
    let a = heartbeat(&mut client, "s1", Some("tab-a")).await.unwrap();
    let a_lock = a.lock.unwrap();

    let refused = heartbeat(&mut client, "s1", Some("tab-b"))
        .await
        .unwrap_err();
    assert_error(
        &refused,
        ErrorCode::Locked,
        "session lock held by another holder",
        Some("locked"),
    );
    assert_eq!(refused.lock.as_ref(), Some(&a_lock));

    server.clock.advance_secs(44);
    assert!(heartbeat(&mut client, "s1", Some("tab-b")).await.is_err());
    server.clock.advance_secs(1);
    let b = heartbeat(&mut client, "s1", Some("tab-b")).await.unwrap();
    assert_eq!(b.status, "held");
    assert_eq!(b.reason, "session lock acquired");
    let b_lock = b.lock.unwrap();
    assert_eq!(b_lock.holder_id, "tab-b");
    assert!(b_lock.fencing_token > a_lock.fencing_token);

    // A is now the one refused.
    let refused = heartbeat(&mut client, "s1", Some("tab-a"))
        .await
        .unwrap_err();
    assert_eq!(refused.lock.unwrap().holder_id, "tab-b");
    server.stop().await;
}

async fn release_answers_released_missing_and_locked(store: Store) {
    let Some(server) = TestServer::start_on(store).await else {
        return;
    };
    let mut client = server.client().await;

    let missing = release(&mut client, "s1", Some("tab-a")).await.unwrap();
    assert_eq!(missing.status, "missing");
    assert_eq!(missing.reason, "session lock not found");
    assert!(missing.lock.is_none());

    let held = heartbeat(&mut client, "s1", Some("tab-a")).await.unwrap();
    let refused = release(&mut client, "s1", Some("tab-b")).await.unwrap_err();
    assert_error(
        &refused,
        ErrorCode::Locked,
        "session lock held by another holder",
        Some("locked"),
    );
    assert_eq!(refused.lock, held.lock);

    let released = release(&mut client, "s1", Some("tab-a")).await.unwrap();
    assert_eq!(released.status, "released");
    assert_eq!(released.reason, "session lock released");
    assert_eq!(released.lock, held.lock);

    // Released means free: B acquires at once.
    let b = heartbeat(&mut client, "s1", Some("tab-b")).await.unwrap();
    assert_eq!(b.reason, "session lock acquired");
    server.stop().await;
}

async fn a_lease_limit_answers_resource_exhausted(store: Store) {
    let Some(server) = TestServer::start_on(store).await else {
        return;
    };
    let mut client = server.client().await;
    let long = "s".repeat(257);
    let error = heartbeat(&mut client, &long, Some("tab-a"))
        .await
        .unwrap_err();
    assert_error(
        &error,
        ErrorCode::ResourceExhausted,
        "session_id exceeds the limit of 256 bytes",
        Some("error"),
    );
    server.stop().await;
}

async fn a_message_over_the_size_limit_is_refused_by_the_transport(store: Store) {
    let Some(server) = TestServer::start_on(store).await else {
        return;
    };
    let mut client = server.client().await;
    let huge = "s".repeat(5 * 1024 * 1024);
    let status = client
        .heartbeat_lock(HeartbeatLockRequest {
            session_id: huge,
            lock_holder_id: Some("tab-a".into()),
        })
        .await
        .unwrap_err();
    // tonic's decoder refuses it before any handler runs, with OUT_OF_RANGE.
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    assert!(status.message().contains("too large"), "{status:?}");
    // The server is still fine.
    assert!(heartbeat(&mut client, "s1", Some("tab-a")).await.is_ok());
    server.stop().await;
}

both_stores!(
    heartbeat_and_release_validate_the_request_in_order,
    heartbeat_acquires_then_holds,
    holder_b_is_refused_while_a_holds_and_gets_in_after_expiry,
    release_answers_released_missing_and_locked,
    a_lease_limit_answers_resource_exhausted,
    a_message_over_the_size_limit_is_refused_by_the_transport,
);
