//! The tonic server: the walker service beside the standard health and
//! reflection services, with graceful shutdown.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

use crate::api::WalkerGrpc;
use crate::api::pb::walker_service_server::WalkerServiceServer;
use crate::api::pb::{self};
use crate::app::App;
use crate::config::LoadSpec;
use crate::health::Readiness;

pub use crate::health::SERVICE_NAME;

/// How the server behaves around its requests.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// After a shutdown signal, how long health reports NOT_SERVING while
    /// requests are still accepted, so load balancers can drain the replica.
    pub drain: Duration,
    /// Largest request message accepted (bigger ones are refused by the transport).
    pub max_message_bytes: usize,
    /// How often a shared lease store is pinged for the health status.
    pub store_check_interval: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            drain: Duration::ZERO,
            max_message_bytes: 4 * 1024 * 1024,
            store_check_interval: Duration::from_secs(1),
        }
    }
}

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("reflection service could not be built: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("cannot load {run_id} into patch {patch}: {message}")]
    Preload {
        patch: &'static str,
        run_id: String,
        message: String,
    },
    #[error("transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight
/// calls finish before returning.
///
/// The `preload` runs are loaded first; health reports NOT_SERVING until they
/// are ready, and a preload that fails stops the server with its error.
pub async fn run(
    app: App,
    listener: TcpListener,
    options: ServerOptions,
    preload: Vec<LoadSpec>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let walker = WalkerServiceServer::new(WalkerGrpc::new(app.clone()))
        .max_decoding_message_size(options.max_message_bytes);

    let readiness = Readiness::new(reporter).await;
    let store_watch = tokio::spawn(
        readiness
            .clone()
            .watch_store(app.leases().clone(), options.store_check_interval),
    );
    let addr = listener.local_addr().ok();

    let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<ServerError>();
    let startup_readiness = readiness.clone();
    let startup = async move {
        for spec in preload {
            let started = std::time::Instant::now();
            match app.preload(spec.patch, &spec.run_id).await {
                Ok(state) => tracing::info!(
                    patch = spec.patch.as_str(),
                    run_id = spec.run_id,
                    syllables = state.syllable_count,
                    reach_cache = state.reach_cache_status.as_deref().unwrap_or(""),
                    elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "run loaded"
                ),
                Err(error) => {
                    let _ = failed_tx.send(ServerError::Preload {
                        patch: spec.patch.as_str(),
                        run_id: spec.run_id,
                        message: error.message,
                    });
                    return;
                }
            }
        }
        startup_readiness.preloaded().await;
        if let Some(addr) = addr {
            tracing::info!(%addr, "serving");
        }
        // Dropping `failed_tx` here only disables the failure branch below.
    };
    let startup_task = tokio::spawn(startup);

    let failure = std::sync::Arc::new(std::sync::Mutex::new(None));
    let failure_slot = std::sync::Arc::clone(&failure);
    let drain = options.drain;
    let stop = async move {
        tokio::select! {
            () = shutdown => {}
            Ok(error) = failed_rx => {
                if let Ok(mut slot) = failure_slot.lock() {
                    *slot = Some(error);
                }
            }
        }
        readiness.stopping().await;
        if !drain.is_zero() {
            tracing::info!(drain_secs = drain.as_secs_f64(), "draining");
            tokio::time::sleep(drain).await;
        }
        tracing::info!("no longer accepting calls; finishing those in flight");
    };

    let served = Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(walker)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stop)
        .await;
    startup_task.abort();
    store_watch.abort();
    served?;
    if let Some(error) = failure.lock().ok().and_then(|mut slot| slot.take()) {
        return Err(error);
    }
    tracing::info!("stopped");
    Ok(())
}
