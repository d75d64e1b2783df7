//! A real server on a loopback port, a real tonic client, and a clock the
//! test controls.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use walker_service::api::pb::walker_service_client::WalkerServiceClient;
use walker_service::app::App;
use walker_service::clock::ManualClock;
use walker_service::domain::leases::{LeaseLimits, LeaseTable};
use walker_service::server::{self, ServerOptions};

/// 2026-12-03T12:00:00Z.
pub const START_MS: u64 = 1_796_299_200_000;

pub struct TestServer {
    pub addr: SocketAddr,
    pub clock: ManualClock,
    pub app: App,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), server::ServerError>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(ServerOptions::default()).await
    }

    pub async fn start_with(options: ServerOptions) -> Self {
        let clock = ManualClock::new(START_MS);
        let leases = LeaseTable::new(Arc::new(clock.clone()), 45, LeaseLimits::default());
        let app = App::new(leases);
        Self::start_app(app, clock, options).await
    }

    pub async fn start_app(app: App, clock: ManualClock, options: ServerOptions) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(server::run(app.clone(), listener, options, async {
            let _ = rx.await;
        }));
        Self {
            addr,
            clock,
            app,
            shutdown: Some(tx),
            task: Some(task),
        }
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
