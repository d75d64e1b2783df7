//! The tonic handlers: each decodes its request, asks the application, and
//! encodes the in-band answer. No rules live here.

use std::pin::Pin;
use std::time::Instant;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use super::pb;
use super::pb::walker_service_server::WalkerService;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::convert;
use crate::app::{App, STAGE_FAILED, STAGE_READY, StageSink, WalkerError};
use crate::domain::patch::PatchKey;

/// The gRPC face of [`App`].
#[derive(Debug, Clone)]
pub struct WalkerGrpc {
    app: App,
}

impl WalkerGrpc {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

/// Runs one call inside a span that records its method, outcome and
/// latency, and encodes its in-band answer.
async fn rpc<V, M, F>(method: &'static str, call: F) -> Result<Response<M>, Status>
where
    F: Future<Output = Result<V, WalkerError>>,
    M: From<Result<V, WalkerError>>,
{
    let span = tracing::info_span!("rpc", method);
    async move {
        let started = Instant::now();
        let result = call.await;
        log_finished(started, &result);
        Ok(Response::new(M::from(result)))
    }
    .instrument(span)
    .await
}

/// The one log line of a finished call: its outcome (`ok` or the error
/// code) and latency, inside the call's span.
fn log_finished<T>(started: Instant, result: &Result<T, WalkerError>) {
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(_) => tracing::info!(outcome = "ok", latency_ms, "call finished"),
        Err(error) => tracing::info!(
            outcome = error.code.as_str(),
            latency_ms,
            detail = %error.message,
            "call finished"
        ),
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::LoadCorpusEvent, Status>> + Send>>;

#[tonic::async_trait]
impl WalkerService for WalkerGrpc {
    async fn rebuild_reach_cache(
        &self,
        request: Request<pb::RebuildReachCacheRequest>,
    ) -> Result<Response<pb::RebuildReachCacheResponse>, Status> {
        let request = request.into_inner();
        rpc(
            "RebuildReachCache",
            self.app.rebuild_reach_cache(
                &request.patch,
                request.run_id.as_deref(),
                request.lock_holder_id.as_deref(),
            ),
        )
        .await
    }

    async fn heartbeat_lock(
        &self,
        request: Request<pb::HeartbeatLockRequest>,
    ) -> Result<Response<pb::HeartbeatLockResponse>, Status> {
        let request = request.into_inner();
        rpc(
            "HeartbeatLock",
            self.app
                .heartbeat_lock(&request.session_id, request.lock_holder_id.as_deref()),
        )
        .await
    }

    async fn release_lock(
        &self,
        request: Request<pb::ReleaseLockRequest>,
    ) -> Result<Response<pb::ReleaseLockResponse>, Status> {
        let request = request.into_inner();
        rpc(
            "ReleaseLock",
            self.app
                .release_lock(&request.session_id, request.lock_holder_id.as_deref()),
        )
        .await
    }

    async fn acquire_lock(
        &self,
        request: Request<pb::AcquireLockRequest>,
    ) -> Result<Response<pb::AcquireLockResponse>, Status> {
        let request = request.into_inner();
        rpc(
            "AcquireLock",
            self.app.acquire_lock(
                &request.session_id,
                request.lock_holder_id.as_deref(),
                request.force,
            ),
        )
        .await
    }

    async fn get_lock(
        &self,
        request: Request<pb::GetLockRequest>,
    ) -> Result<Response<pb::GetLockResponse>, Status> {
        let request = request.into_inner();
        rpc("GetLock", self.app.get_lock(&request.session_id)).await
    }

    type LoadCorpusStream = EventStream;

    /// The load runs in its own task: a client that disconnects mid-stream
    /// stops receiving events, not the load.
    async fn load_corpus(
        &self,
        request: Request<pb::LoadCorpusRequest>,
    ) -> Result<Response<Self::LoadCorpusStream>, Status> {
        let request = request.into_inner();
        let (events, stream) = mpsc::unbounded_channel();
        let app = self.app.clone();
        let span = tracing::info_span!("rpc", method = "LoadCorpus");
        tokio::spawn(
            async move {
                let started = Instant::now();
                let patch = PatchKey::parse_request(&request.patch)
                    .map_or_else(|| request.patch.clone(), |key| key.as_str().to_owned());
                let event = {
                    let (patch, run_id) = (patch.clone(), request.run_id.clone());
                    move |stage: &str| pb::LoadCorpusEvent {
                        patch: patch.clone(),
                        run_id: run_id.clone(),
                        stage: stage.to_owned(),
                        state: None,
                        error: None,
                    }
                };
                let stage_events = events.clone();
                let stage_event = event.clone();
                let sink: StageSink = Box::new(move |stage| {
                    // A gone client is fine: the load goes on.
                    let _ = stage_events.send(Ok(stage_event(stage)));
                });
                let result = app
                    .load_corpus(
                        &request.patch,
                        &request.run_id,
                        request.lock_holder_id.as_deref(),
                        sink,
                    )
                    .await;
                log_finished(started, &result);
                let last = match result {
                    Ok(state) => {
                        let key = PatchKey::parse_request(&request.patch).unwrap_or(PatchKey::A);
                        pb::LoadCorpusEvent {
                            state: Some(convert::patch_state(key, &state)),
                            ..event(STAGE_READY)
                        }
                    }
                    Err(error) => pb::LoadCorpusEvent {
                        error: Some(error.into()),
                        ..event(STAGE_FAILED)
                    },
                };
                let _ = events.send(Ok(last));
            }
            .instrument(span),
        );
        Ok(Response::new(Box::pin(UnboundedReceiverStream::new(
            stream,
        ))))
    }

    async fn get_patch(
        &self,
        request: Request<pb::GetPatchRequest>,
    ) -> Result<Response<pb::GetPatchResponse>, Status> {
        let request = request.into_inner();
        rpc("GetPatch", async { self.app.get_patch(&request.patch) }).await
    }

    async fn list_runs(
        &self,
        _request: Request<pb::ListRunsRequest>,
    ) -> Result<Response<pb::ListRunsResponse>, Status> {
        // The contract gives ListRuns no in-band error: an unreadable runs
        // directory is a server fault.
        let span = tracing::info_span!("rpc", method = "ListRuns");
        async {
            let started = Instant::now();
            let result = self.app.list_runs().await;
            log_finished(started, &result);
            match result {
                Ok(runs) => Ok(Response::new(pb::ListRunsResponse {
                    runs: runs.into_iter().map(Into::into).collect(),
                })),
                Err(error) => Err(Status::internal(error.message)),
            }
        }
        .instrument(span)
        .await
    }
}
