//! The command-line client end to end, against a server process spawned
//! from the same binary.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use walker_service::demo::DEMO_RUN_ID;

const BIN: &str = env!("CARGO_BIN_EXE_walker-service");

struct ServerProcess {
    child: Child,
    addr: String,
    /// The server's JSON log lines, as they arrive.
    logs: Arc<Mutex<Vec<Value>>>,
    _runs: TempDir,
}

impl ServerProcess {
    /// Starts `serve` on an ephemeral port and waits for it to report SERVING.
    fn start(extra: &[&str]) -> Self {
        let runs = common::demo_runs_dir();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .arg("--runs-dir")
            .arg(runs.path())
            .args(extra)
            .env_remove("WALKER_LOAD")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = lines.next().expect("server exited before serving").unwrap();
            let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if entry["fields"]["message"] == "serving" {
                break entry["fields"]["addr"].as_str().unwrap().to_owned();
            }
        };
        // Keep draining the logs so the server never blocks on a full pipe.
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(entry) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(entry);
                }
            }
        });
        Self {
            child,
            addr,
            logs,
            _runs: runs,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .args(["--server", &self.addr])
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> (Option<i32>, Value) {
        let mut all = args.to_vec();
        all.push("--json");
        let output = self.run(&all);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"));
        (output.status.code(), value)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_whole_flow_from_the_command_line() {
    let server = ServerProcess::start(&[]);

    let (code, acquired) =
        server.json(&["lock", "acquire", "--session", "s1", "--holder", "tab-1"]);
    assert_eq!(code, Some(0));
    assert_eq!(acquired["lock_status"]["status"], "acquired");
    assert_eq!(acquired["lock_status"]["reason"], "session lock acquired");
    assert_eq!(acquired["lock_status"]["lock"]["holder_id"], "tab-1");

    // Without the holder, the active session refuses the load: exit 1.
    let (code, refused) = server.json(&["load", DEMO_RUN_ID]);
    assert_eq!(code, Some(1));
    assert_eq!(refused["error"]["code"], "ERROR_CODE_LOCKED");

    let output = server.run(&["load", DEMO_RUN_ID, "--patch", "b", "--holder", "tab-1"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let progress = String::from_utf8_lossy(&output.stderr);
    for stage in [
        "Loading corpus data",
        "Building neighbour graph",
        "Computing profile reaches",
        "Ready",
    ] {
        assert!(progress.contains(stage), "{progress}");
    }
    let shown = text(&output);
    assert!(shown.contains("patch b: ready"), "{shown}");
    assert!(shown.contains("ritual"), "{shown}");

    let (code, rebuilt) = server.json(&["rebuild", "--patch", "b", "--run", DEMO_RUN_ID]);
    assert_eq!(code, Some(0), "{rebuilt}");
    assert_eq!(rebuilt["rebuilt"]["status"], "rebuilt");
    assert_eq!(rebuilt["rebuilt"]["verification_reason"], "cache-rebuilt");
    assert_eq!(
        rebuilt["rebuilt"]["profile_reaches"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    let (code, patch) = server.json(&["patch", "--patch", "b"]);
    assert_eq!(code, Some(0));
    assert_eq!(patch["state"]["loader_status"], "ready");
    assert_eq!(patch["state"]["syllable_count"], 601);

    let (code, runs) = server.json(&["runs"]);
    assert_eq!(code, Some(0));
    assert_eq!(runs["runs"][0]["run_id"], DEMO_RUN_ID);

    let output = server.run(&["lock", "heartbeat", "--session", "s2", "--holder", "tab-9"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        text(&output).starts_with("held: session lock acquired"),
        "{}",
        text(&output)
    );

    let output = server.run(&["lock", "heartbeat", "--session", "s2", "--holder", "tab-8"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output).contains("error [ERROR_CODE_LOCKED]: session lock held by another holder"),
        "{}",
        text(&output)
    );

    let (code, released) =
        server.json(&["lock", "release", "--session", "s2", "--holder", "tab-9"]);
    assert_eq!(code, Some(0));
    assert_eq!(released["lock_status"]["status"], "released");

    let (code, got) = server.json(&["lock", "get", "--session", "s2"]);
    assert_eq!(code, Some(0));
    assert_eq!(got["lock_status"]["status"], "unlocked");

    // Every call left one line in its `rpc` span with outcome and latency.
    let finished = |method: &str, outcome: &str| {
        server.logs.lock().unwrap().iter().any(|entry| {
            entry["fields"]["message"] == "call finished"
                && entry["span"]["name"] == "rpc"
                && entry["span"]["method"] == method
                && entry["fields"]["outcome"] == outcome
                && entry["fields"]["latency_ms"].is_number()
        })
    };
    let started = Instant::now();
    while !finished("GetLock", "ok") && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(finished("AcquireLock", "ok"));
    assert!(finished("HeartbeatLock", "locked"));
    assert!(finished("LoadCorpus", "locked"));
    assert!(finished("LoadCorpus", "ok"));
    assert!(finished("RebuildReachCache", "ok"));
    assert!(finished("ListRuns", "ok"));
    assert!(finished("GetLock", "ok"));
}

#[test]
fn an_unreachable_server_exits_3_with_a_message() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    drop(taken);
    let output = Command::new(BIN)
        .args(["runs", "--server", &addr])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot connect"),
        "{output:?}"
    );
}

#[test]
fn a_preload_of_an_unknown_run_stops_the_server_with_a_clear_error() {
    let runs = common::demo_runs_dir();
    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--load",
            "a=20991231_000000_missing",
        ])
        .arg("--runs-dir")
        .arg(runs.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot load 20991231_000000_missing into patch a: Run not found: 20991231_000000_missing"),
        "{stderr}"
    );
}

#[test]
fn two_server_processes_share_leases_through_redis() {
    let Some(url) = common::redis::redis_url() else {
        return;
    };
    let prefix = common::redis::unique_prefix();
    let _cleanup = common::redis::Cleanup {
        url: url.clone(),
        prefix: prefix.clone(),
    };
    let shared = [
        "--lease-store",
        url.as_str(),
        "--lease-key-prefix",
        prefix.as_str(),
    ];
    let one = ServerProcess::start(&shared);
    let two = ServerProcess::start(&shared);

    let (code, acquired) = one.json(&["lock", "acquire", "--session", "s1", "--holder", "a"]);
    assert_eq!(code, Some(0), "{acquired}");
    let (code, refused) = two.json(&["lock", "heartbeat", "--session", "s1", "--holder", "b"]);
    assert_eq!(code, Some(1));
    assert_eq!(refused["error"]["lock"]["holder_id"], "a");
    let (code, _) = two.json(&["lock", "release", "--session", "s1", "--holder", "a"]);
    assert_eq!(code, Some(0));
    let (code, got) = one.json(&["lock", "heartbeat", "--session", "s1", "--holder", "b"]);
    assert_eq!(code, Some(0));
    assert_eq!(got["lock_status"]["reason"], "session lock acquired");
}

#[test]
fn an_unreachable_lease_store_stops_the_server_without_printing_its_password() {
    let port = common::redis::free_port();
    let output = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--lease-store-timeout-ms",
            "300",
        ])
        .args([
            "--lease-store",
            &format!("redis://:hunter2@127.0.0.1:{port}/0"),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot use the lease store at redis://***@127.0.0.1"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
