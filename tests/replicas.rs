//! Replicas that share one Redis lease store: whichever replica a call
//! reaches, a session has at most one holder. And a store outage: errors
//! within the deadline, NOT_SERVING while down, recovery when back.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::calls::{acquire, heartbeat, release};
use common::hammer::{check_serial, hammer};
use common::redis::{PrivateRedis, free_port, redis_url, unique_prefix};
use common::{START_MS, Store, TestServer, demo_runs_dir, lease_store};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use walker_service::api::pb::{self, ErrorCode};
use walker_service::clock::ManualClock;
use walker_service::domain::leases::LeaseLimits;
use walker_service::lease_store::{LeaseTime, RedisLeaseStore};
use walker_service::server::ServerOptions;

/// Two servers on one Redis key prefix and one clock.
async fn two_replicas() -> Option<(TestServer, TestServer)> {
    redis_url()?;
    let prefix = unique_prefix();
    let clock = ManualClock::new(START_MS);
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let setup = lease_store(Store::Redis, &clock, Some(&prefix)).await?;
        let server = TestServer::start_with_store(
            demo_runs_dir(),
            ServerOptions::default(),
            Vec::new(),
            clock.clone(),
            setup,
        )
        .await;
        server.wait_serving().await;
        replicas.push(server);
    }
    let second = replicas.pop()?;
    let first = replicas.pop()?;
    Some((first, second))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_taken_through_one_replica_holds_on_the_other() {
    let Some((one, two)) = two_replicas().await else {
        return;
    };
    let (mut via_one, mut via_two) = (one.client().await, two.client().await);

    let a = acquire(&mut via_one, "s1", Some("holder-a"), false)
        .await
        .unwrap();
    assert_eq!(a.status, "acquired");
    let refused = acquire(&mut via_two, "s1", Some("holder-b"), false)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Locked);
    assert_eq!(refused.lock.as_ref().unwrap().holder_id, "holder-a");

    let released = release(&mut via_two, "s1", Some("holder-a")).await.unwrap();
    assert_eq!(released.status, "released");
    let b = acquire(&mut via_one, "s1", Some("holder-b"), false)
        .await
        .unwrap();
    assert_eq!(b.status, "acquired");
    assert!(b.lock.unwrap().fencing_token > a.lock.unwrap().fencing_token);
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_takeover_through_one_replica_is_seen_by_the_other() {
    let Some((one, two)) = two_replicas().await else {
        return;
    };
    let (mut via_one, mut via_two) = (one.client().await, two.client().await);
    let first = acquire(&mut via_one, "s1", Some("tab-1"), false)
        .await
        .unwrap();
    let taken = acquire(&mut via_two, "s1", Some("tab-2"), true)
        .await
        .unwrap();
    assert_eq!(taken.status, "taken_over");
    let first_token = first.lock.unwrap().fencing_token;
    let taken_token = taken.lock.unwrap().fencing_token;
    assert!(taken_token > first_token);

    // Replica one now refuses the old holder and enforces the new active holder.
    let refused = heartbeat(&mut via_one, "s1", Some("tab-1"))
        .await
        .unwrap_err();
    assert_eq!(refused.lock.as_ref().unwrap().holder_id, "tab-2");
    assert_eq!(refused.lock.unwrap().fencing_token, taken_token);
    let rebuild = via_one
        .rebuild_reach_cache(pb::RebuildReachCacheRequest {
            patch: "a".into(),
            run_id: None,
            lock_holder_id: Some("tab-1".into()),
        })
        .await
        .unwrap()
        .into_inner();
    let Some(pb::rebuild_reach_cache_response::Result::Error(error)) = rebuild.result else {
        panic!("the old holder must be refused: {rebuild:?}");
    };
    assert_eq!(
        error.message,
        "Session is locked by another tab/window. Use Take Over Lock to continue from this tab."
    );
    assert_eq!(error.active_session_id.as_deref(), Some("s1"));

    // A refresh keeps the token; expiry and a new grant raise it.
    let refreshed = heartbeat(&mut via_one, "s1", Some("tab-2")).await.unwrap();
    assert_eq!(refreshed.lock.unwrap().fencing_token, taken_token);
    one.clock.advance_secs(45);
    let fresh = heartbeat(&mut via_two, "s1", Some("tab-3")).await.unwrap();
    assert_eq!(fresh.reason, "session lock acquired");
    assert!(fresh.lock.unwrap().fencing_token > taken_token);
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_clients_over_two_replicas_never_share_a_lease() {
    let Some((one, two)) = two_replicas().await else {
        return;
    };
    let channels = [one.channel().await, two.channel().await];
    let answers = hammer(&channels, 64, 30).await;
    check_serial(&answers, channels[1].clone()).await;
    one.stop().await;
    two.stop().await;
}

async fn health(client: &mut HealthClient<tonic::transport::Channel>) -> ServingStatus {
    client
        .check(HealthCheckRequest {
            service: walker_service::server::SERVICE_NAME.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status()
}

async fn wait_health(client: &mut HealthClient<tonic::transport::Channel>, want: ServingStatus) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(15) {
        if health(client).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("health never became {want:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_outage_answers_internal_in_time_and_health_follows() {
    if redis_url().is_none() {
        return;
    }
    let port = free_port();
    let mut redis = PrivateRedis::start(port).expect("redis-server starts");
    let clock = ManualClock::new(START_MS);
    let deadline = Duration::from_millis(500);
    let store = RedisLeaseStore::connect(
        &redis.url(),
        &unique_prefix(),
        45,
        LeaseLimits::default(),
        LeaseTime::Clock(Arc::new(clock.clone())),
        deadline,
    )
    .await
    .unwrap();
    let setup = common::StoreSetup {
        store: store.into(),
        cleanup: None,
    };
    let options = ServerOptions {
        store_check_interval: Duration::from_millis(100),
        ..ServerOptions::default()
    };
    let server =
        TestServer::start_with_store(demo_runs_dir(), options, Vec::new(), clock, setup).await;
    server.wait_serving().await;
    let mut client = server.client().await;
    let mut health_client = HealthClient::new(server.channel().await);
    assert!(heartbeat(&mut client, "s1", Some("tab-1")).await.is_ok());

    redis.stop();
    let started = Instant::now();
    let error = heartbeat(&mut client, "s1", Some("tab-1"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < deadline + Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(error.code(), ErrorCode::Internal);
    assert!(
        error
            .message
            .starts_with("Session lock failed: lease store unavailable"),
        "{}",
        error.message
    );
    // Mutations cannot be checked against the active session either: refused, not let through.
    let rebuild = client
        .rebuild_reach_cache(pb::RebuildReachCacheRequest {
            patch: "a".into(),
            run_id: None,
            lock_holder_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    let Some(pb::rebuild_reach_cache_response::Result::Error(error)) = rebuild.result else {
        panic!("{rebuild:?}");
    };
    assert_eq!(error.code(), ErrorCode::Internal);
    wait_health(&mut health_client, ServingStatus::NotServing).await;

    let _redis = PrivateRedis::start(port).expect("redis-server restarts");
    wait_health(&mut health_client, ServingStatus::Serving).await;
    let back = heartbeat(&mut client, "s1", Some("tab-1")).await.unwrap();
    // The restarted Redis kept nothing: the lease is granted afresh.
    assert_eq!(back.reason, "session lock acquired");
    server.stop().await;
}
