//! Long work runs off the async runtime: lease calls stay prompt during a
//! rebuild, and a call in flight when shutdown starts still gets its answer.

mod common;

use common::TestServer;
use common::calls::heartbeat;
use tokio_stream::StreamExt as _;
use walker_service::api::pb::{
    GetPatchRequest, LoadCorpusRequest, RebuildReachCacheRequest, get_patch_response,
    rebuild_reach_cache_response,
};
use walker_service::config::{LoadSpec, PatchKey};
use walker_service::domain::reach::synthetic::synthetic_corpus;
use walker_service::rundir::writer::write_run_dir;

const BIG_RUN: &str = "20261203_130000_synthetic";

async fn big_run_server(preload: bool) -> TestServer {
    let runs = common::demo_runs_dir();
    write_run_dir(runs.path(), BIG_RUN, &synthetic_corpus(300_000, 11)).unwrap();
    let loads = if preload {
        vec![LoadSpec {
            patch: PatchKey::A,
            run_id: BIG_RUN.to_owned(),
        }]
    } else {
        Vec::new()
    };
    let server = TestServer::start_in(runs, Default::default(), loads).await;
    server.wait_serving().await;
    server
}

/// One runtime thread for the server and the test: a rebuild that computed
/// on it would hold the heartbeat back until it finished.
#[tokio::test(flavor = "current_thread")]
async fn a_heartbeat_during_a_long_rebuild_answers_before_the_rebuild() {
    let server = big_run_server(true).await;
    let mut rebuild_client = server.client().await;
    let mut client = server.client().await;

    let rebuild = tokio::spawn(async move {
        rebuild_client
            .rebuild_reach_cache(RebuildReachCacheRequest {
                patch: "a".into(),
                run_id: None,
                lock_holder_id: None,
            })
            .await
            .unwrap()
            .into_inner()
    });
    // Let the rebuild request reach the server and start computing.
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    let beat = heartbeat(&mut client, "s1", Some("tab-1")).await;
    assert!(beat.is_ok(), "{beat:?}");
    assert!(
        !rebuild.is_finished(),
        "the rebuild finished before the heartbeat"
    );
    let answer = rebuild.await.unwrap();
    assert!(
        matches!(
            answer.result,
            Some(rebuild_reach_cache_response::Result::Rebuilt(_))
        ),
        "{answer:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_load_in_flight_when_shutdown_starts_still_completes() {
    let mut server = big_run_server(false).await;
    let mut client = server.client().await;
    let mut stream = client
        .load_corpus(LoadCorpusRequest {
            patch: "b".into(),
            run_id: BIG_RUN.into(),
            lock_holder_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.stage, "Loading corpus data");

    server.begin_shutdown();
    let mut last = None;
    while let Some(event) = stream.next().await {
        last = Some(event.unwrap());
    }
    let last = last.unwrap();
    assert_eq!(last.stage, "Ready");
    let state = last.state.unwrap();
    assert_eq!(state.syllable_count, 300_000);
    assert_eq!(state.loader_status, "ready");
    server.join().await.unwrap();
}

#[tokio::test]
async fn lease_calls_and_the_other_patch_answer_during_a_load() {
    let server = big_run_server(false).await;
    let mut loader = server.client().await;
    let mut client = server.client().await;
    let mut stream = loader
        .load_corpus(LoadCorpusRequest {
            patch: "a".into(),
            run_id: BIG_RUN.into(),
            lock_holder_id: None,
        })
        .await
        .unwrap()
        .into_inner();
    stream.next().await.unwrap().unwrap();
    let beat = heartbeat(&mut client, "s1", Some("tab-1")).await;
    assert!(beat.is_ok(), "{beat:?}");
    let patch = client
        .get_patch(GetPatchRequest { patch: "a".into() })
        .await
        .unwrap()
        .into_inner();
    let Some(get_patch_response::Result::State(state)) = patch.result else {
        panic!("no state");
    };
    assert_eq!(state.loader_status, "loading", "{state:?}");
    assert!(state.loading_stage.is_some());
    while stream.next().await.is_some() {}
    server.stop().await;
}
