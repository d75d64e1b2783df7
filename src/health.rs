//! What `grpc.health.v1` reports, and why: SERVING only while the preloads
//! are done, shutdown has not begun, and the lease store answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::lease_store::LeaseStore;

/// The fully-qualified gRPC service name, as health checks name it.
pub const SERVICE_NAME: &str = "pipeworks.walker.v1.WalkerService";

/// The conditions for SERVING, published to the health service on change.
#[derive(Debug, Clone)]
pub struct Readiness {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    preloaded: AtomicBool,
    stopping: AtomicBool,
    store_ok: AtomicBool,
    /// Serialises publications so the last one reflects the latest flags.
    reporter: Mutex<HealthReporter>,
}

impl Readiness {
    /// Starts NOT_SERVING until [`Readiness::preloaded`].
    pub async fn new(reporter: HealthReporter) -> Self {
        let readiness = Self {
            inner: Arc::new(Inner {
                preloaded: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                store_ok: AtomicBool::new(true),
                reporter: Mutex::new(reporter),
            }),
        };
        readiness.publish().await;
        readiness
    }

    pub async fn preloaded(&self) {
        self.inner.preloaded.store(true, Ordering::SeqCst);
        self.publish().await;
    }

    pub async fn stopping(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.publish().await;
    }

    async fn store_answered(&self, ok: bool) {
        let was = self.inner.store_ok.swap(ok, Ordering::SeqCst);
        if was != ok {
            if ok {
                tracing::info!("lease store answers again");
            } else {
                tracing::warn!("lease store unreachable: reporting NOT_SERVING");
            }
            self.publish().await;
        }
    }

    pub fn is_serving(&self) -> bool {
        self.inner.preloaded.load(Ordering::SeqCst)
            && !self.inner.stopping.load(Ordering::SeqCst)
            && self.inner.store_ok.load(Ordering::SeqCst)
    }

    async fn publish(&self) {
        let reporter = self.inner.reporter.lock().await;
        let status = if self.is_serving() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        reporter.set_service_status("", status).await;
        reporter.set_service_status(SERVICE_NAME, status).await;
    }

    /// Pings the store every `interval` and follows its answer. Runs until
    /// the task is dropped; a store that cannot fail is not watched.
    pub async fn watch_store(self, store: LeaseStore, interval: Duration) {
        if matches!(store, LeaseStore::Memory(_)) {
            return;
        }
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let ok = match store.ping().await {
                Ok(()) => true,
                Err(error) => {
                    tracing::debug!(%error, "lease store ping failed");
                    false
                }
            };
            self.store_answered(ok).await;
        }
    }
}
