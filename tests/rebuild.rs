//! RebuildReachCache through a real client (SEMANTICS §5), in the
//! specification's check order, and the cache file it leaves behind.

mod common;

use std::path::Path;

use common::TestServer;
use common::calls::{Client, acquire, assert_error, rebuild, rebuild_request};
use serde_json::Value;
use walker_service::api::pb::{
    self, ErrorCode, GetPatchRequest, RebuildReachCacheRequest, WalkerError, get_patch_response,
};
use walker_service::demo::DEMO_RUN_ID;
use walker_service::domain::cache::CacheRead;
use walker_service::domain::reach::WalkerSettings;
use walker_service::rundir::cache_file::{cache_path, read_cache};

const EXPECTED_INPUT_HASH: &str =
    "3d8672eca16175cf57d3f5814ddc61e7ba6d7d1c98f8f36767db2f3b43013e4c";
const EXPECTED_OUTPUT_HASH: &str =
    "59a365c71ab213d67caab5aab3ef9c021226367944da6505c07d515656c7d655";

async fn rebuild_err(client: &mut Client, request: RebuildReachCacheRequest) -> WalkerError {
    rebuild(client, request).await.expect_err("an error answer")
}

fn read_demo_cache(run_dir: &Path) -> CacheRead {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).unwrap()).unwrap();
    read_cache(run_dir, DEMO_RUN_ID, &manifest, &WalkerSettings::default())
}

#[tokio::test]
async fn argument_errors_come_in_order() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    for patch in ["c", "ab", " a", "A "] {
        let error = rebuild_err(&mut client, rebuild_request(patch, None, None)).await;
        assert_error(
            &error,
            ErrorCode::InvalidArgument,
            "Invalid patch. Must be 'a' or 'b'.",
        );
    }
    // The patch is checked before the run id.
    let error = rebuild_err(&mut client, rebuild_request("x", Some(" "), None)).await;
    assert_error(
        &error,
        ErrorCode::InvalidArgument,
        "Invalid patch. Must be 'a' or 'b'.",
    );
    for run_id in ["", "  ", "\t"] {
        let error = rebuild_err(&mut client, rebuild_request("a", Some(run_id), None)).await;
        assert_error(
            &error,
            ErrorCode::InvalidArgument,
            "run_id must be a non-empty string when provided.",
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn an_unloaded_patch_is_not_ready() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    for (patch, letter) in [("", "A"), ("a", "A"), ("A", "A"), ("b", "B"), ("B", "B")] {
        let error = rebuild_err(&mut client, rebuild_request(patch, None, None)).await;
        assert_error(
            &error,
            ErrorCode::NotReady,
            &format!("Walker not ready for patch {letter}. Load a corpus first."),
        );
        // Nothing loaded means no run id to mismatch: still not ready.
        let error = rebuild_err(&mut client, rebuild_request(patch, Some(DEMO_RUN_ID), None)).await;
        assert_eq!(error.code(), ErrorCode::NotReady);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_different_run_id_is_a_mismatch() {
    let server = TestServer::start_loaded().await;
    let mut client = server.client().await;
    for other in ["20261203_000000_other", " 20261203_124212_pyphen"] {
        let error = rebuild_err(&mut client, rebuild_request("a", Some(other), None)).await;
        assert_error(
            &error,
            ErrorCode::FailedPrecondition,
            "run_id mismatch for patch A.",
        );
    }
    // Patch b is not loaded: not ready, whatever the run id.
    let error = rebuild_err(&mut client, rebuild_request("b", Some(DEMO_RUN_ID), None)).await;
    assert_error(
        &error,
        ErrorCode::NotReady,
        "Walker not ready for patch B. Load a corpus first.",
    );
    server.stop().await;
}

#[tokio::test]
async fn a_rebuild_rewrites_the_cache_with_the_python_tools_hashes() {
    let server = TestServer::start_loaded().await;
    let mut client = server.client().await;
    let cache = cache_path(&server.demo_run());
    std::fs::remove_file(&cache).unwrap();

    let rebuilt = rebuild(&mut client, rebuild_request("A", Some(DEMO_RUN_ID), None))
        .await
        .unwrap();
    assert_eq!(rebuilt.patch, "a");
    assert_eq!(rebuilt.run_id, DEMO_RUN_ID);
    assert_eq!(rebuilt.status, "rebuilt");
    assert_eq!(rebuilt.ipc_input_hash.as_deref(), Some(EXPECTED_INPUT_HASH));
    assert_eq!(
        rebuilt.ipc_output_hash.as_deref(),
        Some(EXPECTED_OUTPUT_HASH)
    );
    assert_eq!(rebuilt.verification_status.as_deref(), Some("verified"));
    assert_eq!(
        rebuilt.verification_reason.as_deref(),
        Some("cache-rebuilt")
    );
    assert_eq!(
        rebuilt.cache_path,
        format!("{DEMO_RUN_ID}/ipc/walker_profile_reaches.v1.json")
    );
    let rows: Vec<_> = rebuilt
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
        .collect();
    assert_eq!(
        rows,
        [
            ("clerical", 18, 601, 547),
            ("dialect", 88, 601, 601),
            ("goblin", 90, 601, 601),
            ("ritual", 191, 601, 601),
        ]
    );
    let clerical = &rebuilt.profile_reaches[0];
    assert_eq!(
        (
            clerical.threshold,
            clerical.max_flips,
            clerical.temperature,
            clerical.frequency_weight
        ),
        (0.001, 1, 0.3, 1.0)
    );

    assert!(server.runs_dir.path().join(&rebuilt.cache_path).is_file());
    match read_demo_cache(&server.demo_run()) {
        CacheRead::Hit(hit) => {
            assert_eq!(hit.input_hash, EXPECTED_INPUT_HASH);
            assert_eq!(hit.output_hash, EXPECTED_OUTPUT_HASH);
        }
        other => panic!("cache reads as {other:?}"),
    }

    let state = client
        .get_patch(GetPatchRequest { patch: "a".into() })
        .await
        .unwrap()
        .into_inner();
    let Some(get_patch_response::Result::State(state)) = state.result else {
        panic!("no patch state");
    };
    assert_eq!(state.reach_cache_status.as_deref(), Some("hit"));
    assert_eq!(
        state.reach_cache_ipc_verification_reason.as_deref(),
        Some("cache-rebuilt")
    );
    assert_eq!(state.profile_reaches.len(), 4);
    server.stop().await;
}

#[tokio::test]
async fn a_manifest_without_ipc_hashes_cannot_key_a_cache() {
    let server = TestServer::start_loaded().await;
    let mut client = server.client().await;
    let manifest_path = server.demo_run().join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["ipc"]
        .as_object_mut()
        .unwrap()
        .remove("input_hash");
    manifest["ipc"]
        .as_object_mut()
        .unwrap()
        .remove("output_hash");
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let before = std::fs::read(cache_path(&server.demo_run())).unwrap();

    let error = rebuild_err(&mut client, rebuild_request("a", None, None)).await;
    assert_error(
        &error,
        ErrorCode::FailedPrecondition,
        "Failed to write reach cache artifact.",
    );
    // The old file is untouched.
    assert_eq!(
        std::fs::read(cache_path(&server.demo_run())).unwrap(),
        before
    );
    server.stop().await;
}

#[tokio::test]
async fn an_unwritable_ipc_directory_is_an_internal_failure() {
    let server = TestServer::start_loaded().await;
    let mut client = server.client().await;
    let ipc = server.demo_run().join("ipc");
    std::fs::remove_dir_all(&ipc).unwrap();
    std::fs::write(&ipc, b"not a directory").unwrap();

    let error = rebuild_err(&mut client, rebuild_request("a", None, None)).await;
    assert_error(
        &error,
        ErrorCode::Internal,
        "Failed to write reach cache artifact.",
    );
    assert_eq!(std::fs::read(&ipc).unwrap(), b"not a directory");
    server.stop().await;
}

#[tokio::test]
async fn the_active_session_guards_rebuilds_before_anything_else() {
    let server = TestServer::start_loaded().await;
    let mut client = server.client().await;
    acquire(&mut client, "s1", Some("tab-1"), false)
        .await
        .unwrap();

    // Enforcement first: even an invalid patch answers the lock error.
    let error = rebuild_err(&mut client, rebuild_request("zz", None, None)).await;
    assert_error(
        &error,
        ErrorCode::Locked,
        "Active session is locked; missing lock_holder_id for this request.",
    );
    assert_eq!(error.lock_status.as_deref(), Some("locked"));
    assert_eq!(error.active_session_id.as_deref(), Some("s1"));

    let error = rebuild_err(&mut client, rebuild_request("a", None, Some("  "))).await;
    assert_error(
        &error,
        ErrorCode::InvalidArgument,
        "Active session lock requires lock_holder_id on mutating requests. lock_holder_id must not be blank when provided.",
    );
    assert_eq!(error.lock_status.as_deref(), Some("error"));
    assert_eq!(error.active_session_id.as_deref(), Some("s1"));

    let error = rebuild_err(&mut client, rebuild_request("a", None, Some("tab-2"))).await;
    assert_error(
        &error,
        ErrorCode::Locked,
        "Session is locked by another tab/window. Use Take Over Lock to continue from this tab.",
    );
    assert_eq!(error.lock_status.as_deref(), Some("locked"));
    assert_eq!(error.lock.as_ref().unwrap().holder_id, "tab-1");

    let rebuilt = rebuild(&mut client, rebuild_request("a", None, Some("tab-1")))
        .await
        .unwrap();
    assert_eq!(rebuilt.status, "rebuilt");
    server.stop().await;
}

#[tokio::test]
async fn concurrent_rebuilds_of_one_patch_leave_one_valid_file() {
    let server = TestServer::start_loaded().await;
    let channel = server.channel().await;
    let mut calls = Vec::new();
    for _ in 0..6 {
        let mut client = pb::walker_service_client::WalkerServiceClient::new(channel.clone());
        calls.push(tokio::spawn(async move {
            rebuild(&mut client, rebuild_request("a", None, None)).await
        }));
    }
    for call in calls {
        let rebuilt = call.await.unwrap().unwrap();
        assert_eq!(
            rebuilt.ipc_output_hash.as_deref(),
            Some(EXPECTED_OUTPUT_HASH)
        );
    }
    let entries: Vec<_> = std::fs::read_dir(server.demo_run().join("ipc"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries, ["walker_profile_reaches.v1.json"]);
    assert!(matches!(
        read_demo_cache(&server.demo_run()),
        CacheRead::Hit(_)
    ));
    server.stop().await;
}
