//! AcquireLock / GetLock and the active-session enforcement of every
//! mutating RPC (SEMANTICS §4), over a real socket.

mod common;

use common::calls::{Client, acquire, get_lock, rebuild, rebuild_request, release};
use common::{Store, TestServer};
use walker_service::api::pb::{self, ErrorCode, WalkerError};

/// A mutating call: a rebuild of the loaded patch a.
async fn mutate(client: &mut Client, holder: Option<&str>) -> Result<(), WalkerError> {
    rebuild(client, rebuild_request("a", None, holder))
        .await
        .map(drop)
}

async fn acquire_lock_answers_every_status(store: Store) {
    let Some(server) = TestServer::start_on(store).await else {
        return;
    };
    let mut client = server.client().await;

    for (session, holder, message) in [
        ("", Some("tab-1"), "session_id missing or invalid"),
        ("  ", Some("tab-1"), "session_id missing or invalid"),
        ("s1", None, "lock_holder_id missing or invalid"),
        ("s1", Some(" "), "lock_holder_id missing or invalid"),
    ] {
        let error = acquire(&mut client, session, holder, false)
            .await
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidArgument);
        assert_eq!(error.message, message);
        assert_eq!(error.lock_status.as_deref(), Some("error"));
    }

    let first = acquire(&mut client, "s1", Some("tab-1"), false)
        .await
        .unwrap();
    assert_eq!(
        (first.status.as_str(), first.reason.as_str()),
        ("acquired", "session lock acquired")
    );
    let again = acquire(&mut client, "s1", Some("tab-1"), false)
        .await
        .unwrap();
    assert_eq!(
        (again.status.as_str(), again.reason.as_str()),
        ("held", "session lock refreshed")
    );

    let conflict = acquire(&mut client, "s1", Some("tab-2"), false)
        .await
        .unwrap_err();
    assert_eq!(conflict.code(), ErrorCode::Locked);
    assert_eq!(conflict.message, "session lock held by another holder");
    assert_eq!(conflict.lock_status.as_deref(), Some("locked"));
    assert_eq!(conflict.lock.as_ref().unwrap().holder_id, "tab-1");

    let taken = acquire(&mut client, "s1", Some("tab-2"), true)
        .await
        .unwrap();
    assert_eq!(
        (taken.status.as_str(), taken.reason.as_str()),
        ("taken_over", "session lock takeover complete")
    );
    let lock = taken.lock.unwrap();
    assert_eq!(lock.holder_id, "tab-2");
    assert!(lock.fencing_token > first.lock.unwrap().fencing_token);
    server.stop().await;
}

async fn get_lock_answers_unlocked_locked_and_errors(store: Store) {
    let Some(server) = TestServer::start_on(store).await else {
        return;
    };
    let mut client = server.client().await;
    let error = get_lock(&mut client, " ").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidArgument);
    assert_eq!(error.message, "session_id missing or invalid");
    assert_eq!(error.lock_status.as_deref(), Some("error"));

    let free = get_lock(&mut client, "s1").await.unwrap();
    assert_eq!(
        (free.status.as_str(), free.reason.as_str()),
        ("unlocked", "no active lock")
    );
    assert!(free.lock.is_none());

    let held = acquire(&mut client, "s1", Some("tab-1"), false)
        .await
        .unwrap();
    let seen = get_lock(&mut client, "s1").await.unwrap();
    assert_eq!(
        (seen.status.as_str(), seen.reason.as_str()),
        ("locked", "active lock present")
    );
    assert_eq!(seen.lock, held.lock);
    server.stop().await;
}

async fn without_an_active_session_mutations_need_no_holder(store: Store) {
    let Some(server) = TestServer::start_loaded_on(store).await else {
        return;
    };
    let mut client = server.client().await;
    assert!(mutate(&mut client, None).await.is_ok());
    assert!(mutate(&mut client, Some("anyone")).await.is_ok());
    // A heartbeat lease is not an active session.
    client
        .heartbeat_lock(pb::HeartbeatLockRequest {
            session_id: "s1".into(),
            lock_holder_id: Some("tab-1".into()),
        })
        .await
        .unwrap();
    assert!(mutate(&mut client, None).await.is_ok());
    server.stop().await;
}

async fn an_active_session_checks_the_holder_of_every_mutation(store: Store) {
    let Some(server) = TestServer::start_loaded_on(store).await else {
        return;
    };
    let mut client = server.client().await;
    acquire(&mut client, "s1", Some("tab-1"), false)
        .await
        .unwrap();

    let missing = mutate(&mut client, None).await.unwrap_err();
    assert_eq!(missing.code(), ErrorCode::Locked);
    assert_eq!(
        missing.message,
        "Active session is locked; missing lock_holder_id for this request."
    );
    assert_eq!(missing.lock_status.as_deref(), Some("locked"));
    assert_eq!(missing.active_session_id.as_deref(), Some("s1"));

    let blank = mutate(&mut client, Some("")).await.unwrap_err();
    assert_eq!(blank.code(), ErrorCode::InvalidArgument);
    assert_eq!(
        blank.message,
        "Active session lock requires lock_holder_id on mutating requests. lock_holder_id must not be blank when provided."
    );
    assert_eq!(blank.lock_status.as_deref(), Some("error"));
    assert_eq!(blank.active_session_id.as_deref(), Some("s1"));

    let wrong = mutate(&mut client, Some("tab-2")).await.unwrap_err();
    assert_eq!(wrong.code(), ErrorCode::Locked);
    assert_eq!(
        wrong.message,
        "Session is locked by another tab/window. Use Take Over Lock to continue from this tab."
    );
    assert_eq!(wrong.lock_status.as_deref(), Some("locked"));
    assert_eq!(wrong.active_session_id.as_deref(), Some("s1"));
    assert_eq!(wrong.lock.unwrap().holder_id, "tab-1");

    let too_long = "h".repeat(300);
    let invalid = mutate(&mut client, Some(&too_long)).await.unwrap_err();
    assert_eq!(invalid.code(), ErrorCode::FailedPrecondition);
    assert_eq!(
        invalid.message,
        "Session lock validation failed: lock_holder_id exceeds the limit of 256 bytes"
    );
    assert_eq!(invalid.lock_status.as_deref(), Some("error"));

    assert!(mutate(&mut client, Some(" tab-1 ")).await.is_ok());
    server.stop().await;
}

async fn a_force_takeover_moves_the_active_holder(store: Store) {
    let Some(server) = TestServer::start_loaded_on(store).await else {
        return;
    };
    let mut client = server.client().await;
    acquire(&mut client, "s1", Some("tab-1"), false)
        .await
        .unwrap();
    acquire(&mut client, "s1", Some("tab-2"), true)
        .await
        .unwrap();
    let refused = mutate(&mut client, Some("tab-1")).await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Locked);
    assert_eq!(refused.lock.unwrap().holder_id, "tab-2");
    assert!(mutate(&mut client, Some("tab-2")).await.is_ok());
    // Acquiring another session moves the active session itself.
    acquire(&mut client, "s2", Some("tab-3"), false)
        .await
        .unwrap();
    let refused = mutate(&mut client, Some("tab-2")).await.unwrap_err();
    assert_eq!(refused.active_session_id.as_deref(), Some("s2"));
    server.stop().await;
}

async fn releasing_the_active_lease_lifts_enforcement(store: Store) {
    let Some(server) = TestServer::start_loaded_on(store).await else {
        return;
    };
    let mut client = server.client().await;
    acquire(&mut client, "s1", Some("tab-1"), false)
        .await
        .unwrap();
    assert!(mutate(&mut client, None).await.is_err());
    release(&mut client, "s1", Some("tab-1")).await.unwrap();
    assert!(mutate(&mut client, None).await.is_ok());
    assert!(mutate(&mut client, Some("tab-2")).await.is_ok());
    server.stop().await;
}

async fn an_expired_active_lease_guards_nothing(store: Store) {
    let Some(server) = TestServer::start_loaded_on(store).await else {
        return;
    };
    let mut client = server.client().await;
    acquire(&mut client, "s1", Some("tab-1"), false)
        .await
        .unwrap();
    server.clock.advance_secs(44);
    assert!(mutate(&mut client, None).await.is_err());
    // A mutation by the holder refreshes the lease...
    assert!(mutate(&mut client, Some("tab-1")).await.is_ok());
    server.clock.advance_secs(44);
    assert!(mutate(&mut client, None).await.is_err());
    // ...and once it expires, anyone may mutate.
    server.clock.advance_secs(1);
    assert!(mutate(&mut client, None).await.is_ok());
    assert_eq!(
        get_lock(&mut client, "s1").await.unwrap().status,
        "unlocked"
    );
    server.stop().await;
}

both_stores!(
    acquire_lock_answers_every_status,
    get_lock_answers_unlocked_locked_and_errors,
    without_an_active_session_mutations_need_no_holder,
    an_active_session_checks_the_holder_of_every_mutation,
    a_force_takeover_moves_the_active_holder,
    releasing_the_active_lease_lifts_enforcement,
    an_expired_active_lease_guards_nothing,
);
