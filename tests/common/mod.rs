//! A real server on a loopback port, a real tonic client, and a clock the
//! test controls.

#![allow(dead_code)]

pub mod calls;
pub mod hammer;
pub mod redis;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use std::path::PathBuf;

use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use walker_service::api::pb::walker_service_client::WalkerServiceClient;
use walker_service::app::App;
use walker_service::clock::ManualClock;
use walker_service::config::{LoadSpec, PatchKey};
use walker_service::demo::DEMO_RUN_ID;
use walker_service::domain::leases::{LeaseLimits, LeaseTable};
use walker_service::domain::reach::WalkerSettings;
use walker_service::lease_store::{LeaseStore, LeaseTime, RedisLeaseStore};
use walker_service::rundir::runs::RunsDir;
use walker_service::server::{self, ServerOptions};

/// 2026-12-03T12:00:00Z.
pub const START_MS: u64 = 1_796_299_200_000;

/// Which lease store a test server runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Memory,
    /// Redis at `WALKER_TEST_REDIS_URL`, under a key prefix of the test's own.
    Redis,
}

/// Runs a lease test once per store: `both_stores!(name, ...)` turns each
/// `async fn name(store: Store)` into `name::memory` and `name::redis`.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn memory() {
                    super::$name($crate::common::Store::Memory).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn redis() {
                    super::$name($crate::common::Store::Redis).await
                }
            }
        )*
    };
}

/// What a server's leases live in, and the Redis keys to delete afterwards.
pub struct StoreSetup {
    pub store: LeaseStore,
    pub cleanup: Option<Arc<redis::Cleanup>>,
}

/// A lease store for a test, with the shared clock; `None` when the test
/// must be skipped (Redis not configured). Give `prefix` to share keys
/// between replicas.
pub async fn lease_store(
    store: Store,
    clock: &ManualClock,
    prefix: Option<&str>,
) -> Option<StoreSetup> {
    match store {
        Store::Memory => Some(StoreSetup {
            store: LeaseTable::new(Arc::new(clock.clone()), 45, LeaseLimits::default()).into(),
            cleanup: None,
        }),
        Store::Redis => {
            let url = redis::redis_url()?;
            let prefix = prefix.map_or_else(redis::unique_prefix, str::to_owned);
            let store = RedisLeaseStore::connect(
                &url,
                &prefix,
                45,
                LeaseLimits::default(),
                LeaseTime::Clock(Arc::new(clock.clone())),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
            Some(StoreSetup {
                store: store.into(),
                cleanup: Some(Arc::new(redis::Cleanup { url, prefix })),
            })
        }
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    /// Keeps the server's Redis keys until the server is gone.
    pub cleanup: Option<Arc<redis::Cleanup>>,
    pub clock: ManualClock,
    pub app: App,
    /// The runs directory (a temporary copy holding the demo run).
    pub runs_dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), server::ServerError>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(ServerOptions::default()).await
    }

    pub async fn start_with(options: ServerOptions) -> Self {
        let server = Self::start_full(options, Vec::new()).await;
        server.wait_serving().await;
        server
    }

    /// A server with the demo run loaded into patch a.
    pub async fn start_loaded() -> Self {
        let server = Self::start_full(
            ServerOptions::default(),
            vec![LoadSpec {
                patch: PatchKey::A,
                run_id: DEMO_RUN_ID.to_owned(),
            }],
        )
        .await;
        server.wait_serving().await;
        server
    }

    pub async fn start_full(options: ServerOptions, preload: Vec<LoadSpec>) -> Self {
        let runs_dir = demo_runs_dir();
        Self::start_in(runs_dir, options, preload).await
    }

    pub async fn start_in(
        runs_dir: TempDir,
        options: ServerOptions,
        preload: Vec<LoadSpec>,
    ) -> Self {
        let clock = ManualClock::new(START_MS);
        let Some(setup) = lease_store(Store::Memory, &clock, None).await else {
            unreachable!("the memory store is always available");
        };
        Self::start_with_store(runs_dir, options, preload, clock, setup).await
    }

    /// A server whose leases live in `store`; `None` when the test is skipped.
    pub async fn start_on(store: Store) -> Option<Self> {
        let clock = ManualClock::new(START_MS);
        let setup = lease_store(store, &clock, None).await?;
        let server = Self::start_with_store(
            demo_runs_dir(),
            ServerOptions::default(),
            Vec::new(),
            clock,
            setup,
        )
        .await;
        server.wait_serving().await;
        Some(server)
    }

    /// Like [`TestServer::start_on`], with the demo run loaded into patch a.
    pub async fn start_loaded_on(store: Store) -> Option<Self> {
        let clock = ManualClock::new(START_MS);
        let setup = lease_store(store, &clock, None).await?;
        let preload = vec![LoadSpec {
            patch: PatchKey::A,
            run_id: DEMO_RUN_ID.to_owned(),
        }];
        let server = Self::start_with_store(
            demo_runs_dir(),
            ServerOptions::default(),
            preload,
            clock,
            setup,
        )
        .await;
        server.wait_serving().await;
        Some(server)
    }

    pub async fn start_with_store(
        runs_dir: TempDir,
        options: ServerOptions,
        preload: Vec<LoadSpec>,
        clock: ManualClock,
        setup: StoreSetup,
    ) -> Self {
        let leases = setup.store;
        let runs = RunsDir::open(runs_dir.path()).unwrap();
        let app = App::new(
            leases,
            runs,
            WalkerSettings::default(),
            Arc::new(clock.clone()),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(server::run(
            app.clone(),
            listener,
            options,
            preload,
            async {
                let _ = rx.await;
            },
        ));
        Self {
            addr,
            cleanup: setup.cleanup,
            clock,
            app,
            runs_dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// The demo run's directory inside the runs directory.
    pub fn demo_run(&self) -> PathBuf {
        self.runs_dir.path().join(DEMO_RUN_ID)
    }

    /// Waits until health reports SERVING (preloads done).
    pub async fn wait_serving(&self) {
        use tonic_health::pb::health_check_response::ServingStatus;
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let mut health = HealthClient::new(self.channel().await);
        for _ in 0..500 {
            let status = health
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map(|r| r.into_inner().status());
            if matches!(status, Ok(ServingStatus::Serving)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server never reported SERVING");
    }

    pub async fn channel(&self) -> Channel {
        let endpoint = format!("http://{}", self.addr);
        for _ in 0..50 {
            if let Ok(channel) = Channel::from_shared(endpoint.clone())
                .unwrap()
                .connect()
                .await
            {
                return channel;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server at {} did not accept connections", self.addr);
    }

    pub async fn client(&self) -> WalkerServiceClient<Channel> {
        WalkerServiceClient::new(self.channel().await)
    }

    /// Starts a graceful shutdown without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts down and waits for the server to stop.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    pub async fn join(&mut self) -> Result<(), server::ServerError> {
        match self.task.take() {
            Some(task) => task.await.unwrap(),
            None => Ok(()),
        }
    }
}

/// A temporary runs directory holding a copy of the demo run.
pub fn demo_runs_dir() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    walker_service::demo::materialise(dir.path()).unwrap();
    dir
}
