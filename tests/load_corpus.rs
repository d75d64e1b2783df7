//! LoadCorpus, GetPatch and ListRuns through a real client: stages in order,
//! cache hits, Python interoperability, every refusal, supersession.

mod common;

use std::path::Path;
use std::time::Duration;

use common::TestServer;
use common::calls::{acquire, get_lock};
use serde_json::Value;
use tokio_stream::StreamExt as _;
use walker_service::api::pb::{
    self, ErrorCode, GetPatchRequest, ListRunsRequest, LoadCorpusEvent, LoadCorpusRequest,
    PatchState, get_patch_response,
};
use walker_service::demo::DEMO_RUN_ID;
use walker_service::domain::reach::synthetic::synthetic_corpus;
use walker_service::rundir::cache_file::cache_path;
use walker_service::rundir::writer::write_run_dir;

type Client = pb::walker_service_client::WalkerServiceClient<tonic::transport::Channel>;

fn load_request(patch: &str, run_id: &str, holder: Option<&str>) -> LoadCorpusRequest {
    LoadCorpusRequest {
        patch: patch.to_owned(),
        run_id: run_id.to_owned(),
        lock_holder_id: holder.map(str::to_owned),
    }
}

/// All events of one load.
async fn load(client: &mut Client, request: LoadCorpusRequest) -> Vec<LoadCorpusEvent> {
    let mut stream = client.load_corpus(request).await.unwrap().into_inner();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.unwrap());
    }
    events
}

fn stages(events: &[LoadCorpusEvent]) -> Vec<&str> {
    events.iter().map(|e| e.stage.as_str()).collect()
}

fn final_state(events: &[LoadCorpusEvent]) -> &PatchState {
    let last = events.last().expect("at least one event");
    assert!(last.error.is_none(), "load failed: {:?}", last.error);
    last.state
        .as_ref()
        .expect("the last event carries the state")
}

fn final_error(events: &[LoadCorpusEvent]) -> &pb::WalkerError {
    let last = events.last().expect("at least one event");
    assert!(last.state.is_none());
    last.error
        .as_ref()
        .expect("the last event carries the error")
}

async fn get_patch(client: &mut Client, patch: &str) -> PatchState {
    let response = client
        .get_patch(GetPatchRequest {
            patch: patch.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    match response.result.unwrap() {
        get_patch_response::Result::State(state) => state,
        get_patch_response::Result::Error(error) => panic!("{error:?}"),
    }
}

fn reaches(state: &PatchState) -> Vec<(&str, u32, u32, u32)> {
    state
        .profile_reaches
        .iter()
        .map(|r| {
            (
                r.profile_name.as_str(),
                r.reach,
                r.total,
                r.unique_reachable,
            )
        })
        .collect()
}

const DEMO_REACHES: [(&str, u32, u32, u32); 4] = [
    ("clerical", 18, 601, 547),
    ("dialect", 88, 601, 601),
    ("goblin", 90, 601, 601),
    ("ritual", 191, 601, 601),
];

fn expected_cache() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/expected/walker_profile_reaches.v1.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A cache file without the fields that legitimately differ between writers.
fn comparable(mut cache: Value) -> Value {
    cache["created_at_utc"] = Value::Null;
    cache["ipc"]["library_ref"] = Value::Null;
    for profile in cache["profile_reaches"]
        .as_object_mut()
        .unwrap()
        .values_mut()
    {
        profile["computation_ms"] = Value::Null;
    }
    cache
}

#[tokio::test]
async fn a_first_load_computes_writes_the_cache_and_reports_each_stage() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    assert!(!cache_path(&server.demo_run()).exists());

    let idle = get_patch(&mut client, "a").await;
    assert_eq!(idle.loader_status, "idle");
    assert_eq!(idle.syllable_count, 0);
    assert!(!idle.walker_ready);
    assert!(idle.run_id.is_none() && idle.reach_cache_status.is_none());
    assert!(idle.profile_reaches.is_empty());

    let events = load(&mut client, load_request("A", DEMO_RUN_ID, None)).await;
    assert_eq!(
        stages(&events),
        [
            "Loading corpus data",
            "Building neighbour graph",
            "Checking reach cache",
            "Computing profile reaches",
            "Writing reach cache",
            "Ready",
        ]
    );
    for event in &events {
        assert_eq!(event.patch, "a");
        assert_eq!(event.run_id, DEMO_RUN_ID);
    }
    let state = final_state(&events);
    assert_eq!(state.patch, "a");
    assert_eq!(state.run_id.as_deref(), Some(DEMO_RUN_ID));
    assert_eq!(state.corpus_type.as_deref(), Some("pyphen"));
    assert_eq!(state.syllable_count, 601);
    assert!(state.walker_ready);
    assert_eq!(state.loader_status, "ready");
    assert!(state.loading_stage.is_none() && state.loading_error.is_none());
    assert_eq!(
        state.manifest_ipc_verification_status.as_deref(),
        Some("verified")
    );
    assert_eq!(
        state.manifest_ipc_verification_reason.as_deref(),
        Some("hashes-match")
    );
    assert_eq!(
        state.manifest_ipc_output_hash.as_deref(),
        Some("821f1be2bd25ebda2b935db250597c6534b293fbdba7f7126e8ccbfbca6bdb72")
    );
    assert_eq!(state.reach_cache_status.as_deref(), Some("written"));
    assert_eq!(
        state.reach_cache_ipc_verification_status.as_deref(),
        Some("verified")
    );
    assert_eq!(
        state.reach_cache_ipc_verification_reason.as_deref(),
        Some("cache-written-after-miss")
    );
    assert_eq!(reaches(state), DEMO_REACHES);
    assert_eq!(&get_patch(&mut client, "a").await, state);

    // The file written equals the Python tool's, but for the run-dependent fields.
    let written: Value =
        serde_json::from_slice(&std::fs::read(cache_path(&server.demo_run())).unwrap()).unwrap();
    assert_eq!(comparable(written), comparable(expected_cache()));
    server.stop().await;
}

#[tokio::test]
async fn a_second_load_is_a_cache_hit() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    load(&mut client, load_request("a", DEMO_RUN_ID, None)).await;
    let events = load(&mut client, load_request("b", DEMO_RUN_ID, None)).await;
    assert_eq!(
        stages(&events),
        [
            "Loading corpus data",
            "Building neighbour graph",
            "Checking reach cache",
            "Loading cached profile reaches",
            "Ready",
        ]
    );
    let state = final_state(&events);
    assert_eq!(state.patch, "b");
    assert_eq!(state.reach_cache_status.as_deref(), Some("hit"));
    assert_eq!(
        state.reach_cache_ipc_verification_status.as_deref(),
        Some("verified")
    );
    assert_eq!(
        state.reach_cache_ipc_verification_reason.as_deref(),
        Some("cache-hit-hashes-match")
    );
    assert_eq!(reaches(state), DEMO_REACHES);
    server.stop().await;
}

#[tokio::test]
async fn a_cache_written_by_the_python_tool_is_a_hit() {
    let server = TestServer::start().await;
    let ipc = server.demo_run().join("ipc");
    std::fs::create_dir_all(&ipc).unwrap();
    let python_file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/expected/walker_profile_reaches.v1.json");
    std::fs::copy(&python_file, cache_path(&server.demo_run())).unwrap();

    let mut client = server.client().await;
    let events = load(&mut client, load_request("a", DEMO_RUN_ID, None)).await;
    let state = final_state(&events);
    assert_eq!(state.reach_cache_status.as_deref(), Some("hit"));
    assert_eq!(
        state.reach_cache_ipc_input_hash.as_deref(),
        Some("3d8672eca16175cf57d3f5814ddc61e7ba6d7d1c98f8f36767db2f3b43013e4c")
    );
    assert_eq!(
        state.reach_cache_ipc_output_hash.as_deref(),
        Some("59a365c71ab213d67caab5aab3ef9c021226367944da6505c07d515656c7d655")
    );
    assert_eq!(reaches(state), DEMO_REACHES);
    // A hit leaves the Python tool's file as it was.
    assert_eq!(
        std::fs::read(cache_path(&server.demo_run())).unwrap(),
        std::fs::read(&python_file).unwrap()
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_requests_end_the_stream_with_the_right_code() {
    let server = TestServer::start().await;
    std::os::unix::fs::symlink(
        "/tmp",
        server.runs_dir.path().join("20261203_000000_escape"),
    )
    .unwrap();
    let mut client = server.client().await;
    let cases: [(&str, &str, ErrorCode, &str); 10] = [
        (
            "c",
            DEMO_RUN_ID,
            ErrorCode::InvalidArgument,
            "Invalid patch. Must be 'a' or 'b'.",
        ),
        ("a", "", ErrorCode::InvalidArgument, "Missing run_id"),
        ("a", "  ", ErrorCode::InvalidArgument, "Missing run_id"),
        ("a", "..", ErrorCode::InvalidArgument, "Run not found: .."),
        ("a", "a/b", ErrorCode::InvalidArgument, "Run not found: a/b"),
        (
            "a",
            "/etc",
            ErrorCode::InvalidArgument,
            "Run not found: /etc",
        ),
        (
            "a",
            "20261203_124212_pyphen/../20261203_124212_pyphen",
            ErrorCode::InvalidArgument,
            "Run not found: 20261203_124212_pyphen/../20261203_124212_pyphen",
        ),
        (
            "a",
            "not-a-run",
            ErrorCode::InvalidArgument,
            "Run not found: not-a-run",
        ),
        (
            "a",
            "20991231_235959_nothing",
            ErrorCode::NotFound,
            "Run not found: 20991231_235959_nothing",
        ),
        (
            "a",
            "20261203_000000_escape",
            ErrorCode::NotFound,
            "Run not found: 20261203_000000_escape",
        ),
    ];
    for (patch, run_id, code, message) in cases {
        let events = load(&mut client, load_request(patch, run_id, None)).await;
        assert_eq!(events.len(), 1, "{run_id:?}: {events:?}");
        let error = final_error(&events);
        assert_eq!(error.code(), code, "{run_id:?}");
        assert_eq!(error.message, message);
    }
    // Refused loads touch no patch.
    assert_eq!(get_patch(&mut client, "a").await.loader_status, "idle");
    server.stop().await;
}

#[tokio::test]
async fn a_corrupt_corpus_fails_the_load_and_leaves_the_patch_in_error() {
    let server = TestServer::start().await;
    std::fs::write(
        server.demo_run().join("data/corpus.db"),
        b"this is not a database, just bytes",
    )
    .unwrap();
    let mut client = server.client().await;
    let events = load(&mut client, load_request("a", DEMO_RUN_ID, None)).await;
    assert_eq!(stages(&events), ["Loading corpus data", "Failed"]);
    let error = final_error(&events);
    assert_eq!(error.code(), ErrorCode::Internal);
    assert!(
        error.message.starts_with("Failed to load corpus: "),
        "{}",
        error.message
    );
    // No server path leaks to clients.
    assert!(
        !error
            .message
            .contains(&server.runs_dir.path().display().to_string()),
        "{}",
        error.message
    );
    assert!(error.message.contains("corpus.db"), "{}", error.message);

    let state = get_patch(&mut client, "a").await;
    assert_eq!(state.loader_status, "error");
    assert!(!state.walker_ready);
    assert!(
        state
            .loading_error
            .as_deref()
            .unwrap()
            .starts_with("Walker initialisation failed: "),
        "{state:?}"
    );
    assert_eq!(state.reach_cache_status.as_deref(), Some("error"));
    assert_eq!(
        state.reach_cache_ipc_verification_status.as_deref(),
        Some("error")
    );
    assert_eq!(
        state.reach_cache_ipc_verification_reason.as_deref(),
        Some("loader-error:sqlite")
    );
    assert_eq!(state.run_id.as_deref(), Some(DEMO_RUN_ID));
    server.stop().await;
}

#[tokio::test]
async fn a_newer_load_supersedes_an_older_one() {
    let runs = common::demo_runs_dir();
    let big = "20261203_130000_synthetic";
    write_run_dir(runs.path(), big, &synthetic_corpus(300_000, 7)).unwrap();
    let server = TestServer::start_in(runs, Default::default(), Vec::new()).await;
    server.wait_serving().await;
    let mut slow_client = server.client().await;
    let mut client = server.client().await;

    let mut slow = slow_client
        .load_corpus(load_request("a", big, None))
        .await
        .unwrap()
        .into_inner();
    let first = slow.next().await.unwrap().unwrap();
    assert_eq!(first.stage, "Loading corpus data");

    let events = load(&mut client, load_request("a", DEMO_RUN_ID, None)).await;
    assert_eq!(final_state(&events).run_id.as_deref(), Some(DEMO_RUN_ID));

    let mut rest = Vec::new();
    while let Some(event) = slow.next().await {
        rest.push(event.unwrap());
    }
    let error = final_error(&rest);
    assert_eq!(error.code(), ErrorCode::FailedPrecondition);
    assert_eq!(
        error.message,
        format!("Load of {big} into patch A was superseded by a newer load.")
    );
    // The older load wrote nothing: the patch holds the newer run, and the
    // big run got no cache file.
    let state = get_patch(&mut client, "a").await;
    assert_eq!(state.run_id.as_deref(), Some(DEMO_RUN_ID));
    assert_eq!(state.syllable_count, 601);
    assert_eq!(reaches(&state), DEMO_REACHES);
    assert!(!cache_path(&server.runs_dir.path().join(big)).exists());
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_disconnects_does_not_cancel_the_load() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let mut stream = client
        .load_corpus(load_request("b", DEMO_RUN_ID, None))
        .await
        .unwrap()
        .into_inner();
    let _first = stream.next().await.unwrap().unwrap();
    drop(stream);
    let mut other = server.client().await;
    for _ in 0..250 {
        let state = get_patch(&mut other, "b").await;
        if state.loader_status == "ready" {
            assert_eq!(reaches(&state), DEMO_REACHES);
            server.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the load never finished");
}

#[tokio::test]
async fn loads_go_through_the_active_session_and_detach_it() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    acquire(&mut client, "s1", Some("tab-1"), false)
        .await
        .unwrap();
    let events = load(&mut client, load_request("a", DEMO_RUN_ID, None)).await;
    let error = final_error(&events);
    assert_eq!(error.code(), ErrorCode::Locked);
    assert_eq!(
        error.message,
        "Active session is locked; missing lock_holder_id for this request."
    );
    let events = load(&mut client, load_request("a", DEMO_RUN_ID, Some("tab-2"))).await;
    assert_eq!(final_error(&events).code(), ErrorCode::Locked);

    let events = load(&mut client, load_request("a", DEMO_RUN_ID, Some("tab-1"))).await;
    final_state(&events);
    // The load released the holder's lease and cleared the active session.
    let lock = get_lock(&mut client, "s1").await.unwrap();
    assert_eq!(lock.status, "unlocked");
    let events = load(&mut client, load_request("b", DEMO_RUN_ID, None)).await;
    final_state(&events);
    server.stop().await;
}

#[tokio::test]
async fn get_patch_refuses_an_unknown_patch() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let response = client
        .get_patch(GetPatchRequest { patch: "q".into() })
        .await
        .unwrap()
        .into_inner();
    match response.result.unwrap() {
        get_patch_response::Result::Error(error) => {
            assert_eq!(error.code(), ErrorCode::InvalidArgument);
            assert_eq!(error.message, "Invalid patch. Must be 'a' or 'b'.");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(get_patch(&mut client, "").await.patch, "a");
    server.stop().await;
}

#[tokio::test]
async fn list_runs_lists_valid_runs_newest_first_and_skips_broken_ones() {
    let runs = common::demo_runs_dir();
    write_run_dir(
        runs.path(),
        "20270101_000000_synthetic",
        &synthetic_corpus(50, 1),
    )
    .unwrap();
    std::fs::create_dir_all(runs.path().join("20250101_000000_broken")).unwrap();
    std::fs::write(
        runs.path().join("20250101_000000_broken/manifest.json"),
        b"{ not json",
    )
    .unwrap();
    std::fs::create_dir_all(runs.path().join("not_a_run")).unwrap();
    let server = TestServer::start_in(runs, Default::default(), Vec::new()).await;
    let mut client = server.client().await;
    let listed = client
        .list_runs(ListRunsRequest {})
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = listed.runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["20270101_000000_synthetic", DEMO_RUN_ID]);
    let demo = &listed.runs[1];
    assert_eq!(demo.extractor, "pyphen");
    assert_eq!(demo.syllable_count, Some(601));
    assert_eq!(demo.status, "completed");
    assert_eq!(demo.created_at_utc.as_deref(), Some("2026-12-03T12:42:12Z"));
    assert!(demo.has_corpus_db && demo.has_annotated_json);
    assert_eq!(demo.manifest_ipc_verification_status, "verified");
    let synthetic = &listed.runs[0];
    assert_eq!(synthetic.extractor, "synthetic");
    assert!(synthetic.has_corpus_db && !synthetic.has_annotated_json);
    assert_eq!(synthetic.manifest_ipc_verification_status, "verified");
    server.stop().await;
}

#[tokio::test]
async fn a_run_whose_manifest_cannot_key_a_cache_still_loads() {
    let server = TestServer::start().await;
    let manifest_path = server.demo_run().join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest.as_object_mut().unwrap().remove("ipc");
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();

    let mut client = server.client().await;
    let events = load(&mut client, load_request("a", DEMO_RUN_ID, None)).await;
    let state = final_state(&events);
    assert_eq!(state.loader_status, "ready");
    assert_eq!(reaches(state), DEMO_REACHES);
    assert_eq!(
        state.manifest_ipc_verification_status.as_deref(),
        Some("missing")
    );
    assert_eq!(
        state.manifest_ipc_verification_reason.as_deref(),
        Some("missing-ipc-block")
    );
    // No cache could be written: the read's answer stays on record.
    assert_eq!(state.reach_cache_status.as_deref(), Some("none"));
    assert_eq!(
        state.reach_cache_ipc_verification_status.as_deref(),
        Some("missing")
    );
    assert_eq!(
        state.reach_cache_ipc_verification_reason.as_deref(),
        Some("manifest-ipc-missing")
    );
    assert!(state.reach_cache_ipc_input_hash.is_none());
    assert!(!cache_path(&server.demo_run()).exists());
    server.stop().await;
}
