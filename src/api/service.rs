//! The tonic handlers: each decodes its request, asks the application, and
//! encodes the in-band answer. No rules live here.

use std::pin::Pin;
use std::time::Instant;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use super::pb;
use super::pb::walker_service_server::WalkerService;
use crate::app::{App, WalkerError};

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
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match &result {
            Ok(_) => tracing::info!(outcome = "ok", latency_ms, "call finished"),
            Err(error) => tracing::info!(
                outcome = error.code.as_str(),
                latency_ms,
                message = %error.message,
                "call finished"
            ),
        }
        Ok(Response::new(M::from(result)))
    }
    .instrument(span)
    .await
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::LoadCorpusEvent, Status>> + Send>>;

#[tonic::async_trait]
impl WalkerService for WalkerGrpc {
    async fn rebuild_reach_cache(
        &self,
        _request: Request<pb::RebuildReachCacheRequest>,
    ) -> Result<Response<pb::RebuildReachCacheResponse>, Status> {
        Err(Status::unimplemented(
            "RebuildReachCache is not implemented yet",
        ))
    }

    async fn heartbeat_lock(
        &self,
        request: Request<pb::HeartbeatLockRequest>,
    ) -> Result<Response<pb::HeartbeatLockResponse>, Status> {
        let request = request.into_inner();
        rpc("HeartbeatLock", async {
            self.app
                .heartbeat_lock(&request.session_id, request.lock_holder_id.as_deref())
        })
        .await
    }

    async fn release_lock(
        &self,
        request: Request<pb::ReleaseLockRequest>,
    ) -> Result<Response<pb::ReleaseLockResponse>, Status> {
        let request = request.into_inner();
        rpc("ReleaseLock", async {
            self.app
                .release_lock(&request.session_id, request.lock_holder_id.as_deref())
        })
        .await
    }

    async fn acquire_lock(
        &self,
        request: Request<pb::AcquireLockRequest>,
    ) -> Result<Response<pb::AcquireLockResponse>, Status> {
        let request = request.into_inner();
        rpc("AcquireLock", async {
            self.app.acquire_lock(
                &request.session_id,
                request.lock_holder_id.as_deref(),
                request.force,
            )
        })
        .await
    }

    async fn get_lock(
        &self,
        request: Request<pb::GetLockRequest>,
    ) -> Result<Response<pb::GetLockResponse>, Status> {
        let request = request.into_inner();
        rpc("GetLock", async { self.app.get_lock(&request.session_id) }).await
    }

    type LoadCorpusStream = EventStream;

    async fn load_corpus(
        &self,
        _request: Request<pb::LoadCorpusRequest>,
    ) -> Result<Response<Self::LoadCorpusStream>, Status> {
        Err(Status::unimplemented("LoadCorpus is not implemented yet"))
    }

    async fn get_patch(
        &self,
        _request: Request<pb::GetPatchRequest>,
    ) -> Result<Response<pb::GetPatchResponse>, Status> {
        Err(Status::unimplemented("GetPatch is not implemented yet"))
    }

    async fn list_runs(
        &self,
        _request: Request<pb::ListRunsRequest>,
    ) -> Result<Response<pb::ListRunsResponse>, Status> {
        Err(Status::unimplemented("ListRuns is not implemented yet"))
    }
}
