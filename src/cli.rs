//! The command-line client: every RPC from a shell, for people without
//! grpcurl. Readable text by default, the messages as JSON with `--json`.
//!
//! Exit codes: 0 when the server answered with success, 1 when it answered
//! with an in-band `WalkerError` (printed), 3 when it could not be reached
//! or answered with a gRPC error status.

use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde::Serialize;
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;

use crate::api::pb::walker_service_client::WalkerServiceClient;
use crate::api::pb::{self, LockInfo, LockStatus, PatchState, WalkerError};

/// Options every client command takes.
#[derive(Debug, Clone, Args)]
pub struct ClientOptions {
    /// Server address.
    #[arg(
        long,
        env = "WALKER_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub server: String,
    /// Print the answer as JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `walker-service lock ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum LockCommand {
    /// Acquire a session lease and make it the active session.
    Acquire {
        #[arg(long)]
        session: String,
        #[arg(long)]
        holder: Option<String>,
        /// Take the lease over from another holder.
        #[arg(long)]
        force: bool,
    },
    /// Refresh (or first acquire) a session lease.
    Heartbeat {
        #[arg(long)]
        session: String,
        #[arg(long)]
        holder: Option<String>,
    },
    /// Release a session lease.
    Release {
        #[arg(long)]
        session: String,
        #[arg(long)]
        holder: Option<String>,
    },
    /// Show a session lease.
    Get {
        #[arg(long)]
        session: String,
    },
}

/// A client command.
#[derive(Debug, Clone, Subcommand)]
pub enum ClientCommand {
    /// Session leases.
    #[command(subcommand)]
    Lock(LockCommand),
    /// Load a run into a patch, showing each stage.
    Load {
        /// Run id to load.
        run_id: String,
        #[arg(long, default_value = "a")]
        patch: String,
        #[arg(long)]
        holder: Option<String>,
    },
    /// Recompute a patch's reaches and rewrite its cache file.
    Rebuild {
        #[arg(long, default_value = "a")]
        patch: String,
        /// Only rebuild if this run is the one loaded.
        #[arg(long = "run")]
        run_id: Option<String>,
        #[arg(long)]
        holder: Option<String>,
    },
    /// Show a patch.
    Patch {
        #[arg(long, default_value = "a")]
        patch: String,
    },
    /// List the runs, newest first.
    Runs,
}

/// Why a command could not get an answer.
#[derive(Debug, thiserror::Error)]
enum ClientError {
    #[error("cannot connect to {server}: {source}")]
    Connect {
        server: String,
        source: tonic::transport::Error,
    },
    #[error("invalid server address {0:?}")]
    Address(String),
    #[error("the server answered {}: {}", .0.code(), .0.message())]
    Status(#[from] tonic::Status),
    #[error("the server sent an empty answer")]
    Empty,
}

/// Runs a client command and returns the process exit code.
pub fn run(command: ClientCommand, options: ClientOptions) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(execute(command, &options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(3)
        }
    }
}

async fn connect(server: &str) -> Result<WalkerServiceClient<Channel>, ClientError> {
    let server = if server.contains("://") {
        server.to_owned()
    } else {
        format!("http://{server}")
    };
    let endpoint =
        Channel::from_shared(server.clone()).map_err(|_| ClientError::Address(server.clone()))?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|source| ClientError::Connect { server, source })?;
    Ok(WalkerServiceClient::new(channel))
}

/// Prints a successful answer: with `--json` as the response message
/// (`{"<oneof field>": ...}`, the names of the proto), else as `text`.
fn print<T: Serialize>(
    json: bool,
    field: Option<&str>,
    message: &T,
    text: impl FnOnce() -> String,
) -> bool {
    let out = if json {
        let value = serde_json::to_value(message).unwrap_or(serde_json::Value::Null);
        let value = match field {
            Some(field) => serde_json::json!({ field: value }),
            None => value,
        };
        serde_json::to_string_pretty(&value).unwrap_or_default()
    } else {
        text()
    };
    println!("{out}");
    true
}

async fn execute(command: ClientCommand, options: &ClientOptions) -> Result<bool, ClientError> {
    let mut client = connect(&options.server).await?;
    let json = options.json;
    match command {
        ClientCommand::Lock(lock) => {
            let result = match lock {
                LockCommand::Acquire {
                    session,
                    holder,
                    force,
                } => {
                    let request = pb::AcquireLockRequest {
                        session_id: session,
                        lock_holder_id: holder,
                        force,
                    };
                    client
                        .acquire_lock(request)
                        .await?
                        .into_inner()
                        .result
                        .map(|r| match r {
                            pb::acquire_lock_response::Result::LockStatus(s) => Ok(s),
                            pb::acquire_lock_response::Result::Error(e) => Err(Box::new(e)),
                        })
                }
                LockCommand::Heartbeat { session, holder } => {
                    let request = pb::HeartbeatLockRequest {
                        session_id: session,
                        lock_holder_id: holder,
                    };
                    client
                        .heartbeat_lock(request)
                        .await?
                        .into_inner()
                        .result
                        .map(|r| match r {
                            pb::heartbeat_lock_response::Result::LockStatus(s) => Ok(s),
                            pb::heartbeat_lock_response::Result::Error(e) => Err(Box::new(e)),
                        })
                }
                LockCommand::Release { session, holder } => {
                    let request = pb::ReleaseLockRequest {
                        session_id: session,
                        lock_holder_id: holder,
                    };
                    client
                        .release_lock(request)
                        .await?
                        .into_inner()
                        .result
                        .map(|r| match r {
                            pb::release_lock_response::Result::LockStatus(s) => Ok(s),
                            pb::release_lock_response::Result::Error(e) => Err(Box::new(e)),
                        })
                }
                LockCommand::Get { session } => {
                    let request = pb::GetLockRequest {
                        session_id: session,
                    };
                    client
                        .get_lock(request)
                        .await?
                        .into_inner()
                        .result
                        .map(|r| match r {
                            pb::get_lock_response::Result::LockStatus(s) => Ok(s),
                            pb::get_lock_response::Result::Error(e) => Err(Box::new(e)),
                        })
                }
            };
            Ok(match result.ok_or(ClientError::Empty)? {
                Ok(status) => print(json, Some("lock_status"), &status, || {
                    lock_status_text(&status)
                }),
                Err(error) => print_error(json, &error),
            })
        }
        ClientCommand::Load {
            run_id,
            patch,
            holder,
        } => load(&mut client, json, patch, run_id, holder).await,
        ClientCommand::Rebuild {
            patch,
            run_id,
            holder,
        } => {
            let request = pb::RebuildReachCacheRequest {
                patch,
                run_id,
                lock_holder_id: holder,
            };
            let answer = client.rebuild_reach_cache(request).await?.into_inner();
            Ok(match answer.result.ok_or(ClientError::Empty)? {
                pb::rebuild_reach_cache_response::Result::Rebuilt(rebuilt) => {
                    print(json, Some("rebuilt"), &rebuilt, || rebuilt_text(&rebuilt))
                }
                pb::rebuild_reach_cache_response::Result::Error(error) => print_error(json, &error),
            })
        }
        ClientCommand::Patch { patch } => {
            let answer = client
                .get_patch(pb::GetPatchRequest { patch })
                .await?
                .into_inner();
            Ok(match answer.result.ok_or(ClientError::Empty)? {
                pb::get_patch_response::Result::State(state) => {
                    print(json, Some("state"), &state, || patch_text(&state))
                }
                pb::get_patch_response::Result::Error(error) => print_error(json, &error),
            })
        }
        ClientCommand::Runs => {
            let answer = client.list_runs(pb::ListRunsRequest {}).await?.into_inner();
            Ok(print(json, None, &answer, || runs_text(&answer.runs)))
        }
    }
}

async fn load(
    client: &mut WalkerServiceClient<Channel>,
    json: bool,
    patch: String,
    run_id: String,
    holder: Option<String>,
) -> Result<bool, ClientError> {
    let request = pb::LoadCorpusRequest {
        patch,
        run_id,
        lock_holder_id: holder,
    };
    let started = Instant::now();
    let mut stream = client.load_corpus(request).await?.into_inner();
    let mut last = None;
    while let Some(event) = stream.next().await {
        let event = event?;
        if json {
            // One JSON object per event, as they arrive.
            println!(
                "{}",
                serde_json::to_string(&event).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
            );
        } else if event.state.is_none() && event.error.is_none() {
            eprintln!(
                "[{:>7.1} ms] {} ...",
                started.elapsed().as_secs_f64() * 1000.0,
                event.stage
            );
        }
        last = Some(event);
    }
    let last = last.ok_or(ClientError::Empty)?;
    if json {
        return Ok(last.error.is_none());
    }
    match (last.state, last.error) {
        (_, Some(error)) => Ok(print_error(false, &error)),
        (Some(state), None) => {
            eprintln!(
                "[{:>7.1} ms] {}",
                started.elapsed().as_secs_f64() * 1000.0,
                last.stage
            );
            Ok(print(false, None, &state, || patch_text(&state)))
        }
        (None, None) => Err(ClientError::Empty),
    }
}

fn print_error(json: bool, error: &WalkerError) -> bool {
    if json {
        print(true, Some("error"), error, String::new);
    } else {
        let mut text = format!("error [{}]: {}", error.code().as_str_name(), error.message);
        if let Some(status) = &error.lock_status {
            text.push_str(&format!("\n  lock status: {status}"));
        }
        if let Some(session) = &error.active_session_id {
            text.push_str(&format!("\n  active session: {session}"));
        }
        if let Some(lock) = &error.lock {
            text.push_str(&lock_text(lock));
        }
        println!("{text}");
    }
    false
}

fn lock_text(lock: &LockInfo) -> String {
    format!(
        "\n  session: {}\n  holder: {}\n  acquired: {}\n  refreshed: {}\n  expires: {}\n  fencing token: {}",
        lock.session_id,
        lock.holder_id,
        lock.acquired_at_utc,
        lock.refreshed_at_utc,
        lock.expires_at_utc,
        lock.fencing_token
    )
}

fn lock_status_text(status: &LockStatus) -> String {
    let mut text = format!("{}: {}", status.status, status.reason);
    if let Some(lock) = &status.lock {
        text.push_str(&lock_text(lock));
    }
    text
}

fn reaches_text(reaches: &[pb::ProfileReach]) -> String {
    let mut text = String::from("\n  profile    reach  total  unique  ms");
    for r in reaches {
        text.push_str(&format!(
            "\n  {:<9} {:>6} {:>6} {:>7}  {:.2}",
            r.profile_name, r.reach, r.total, r.unique_reachable, r.computation_ms
        ));
    }
    text
}

fn rebuilt_text(rebuilt: &pb::ReachCacheRebuilt) -> String {
    format!(
        "rebuilt patch {} ({})\n  cache: {}\n  input hash: {}\n  output hash: {}\n  verification: {} ({}){}",
        rebuilt.patch,
        rebuilt.run_id,
        rebuilt.cache_path,
        rebuilt.ipc_input_hash.as_deref().unwrap_or("-"),
        rebuilt.ipc_output_hash.as_deref().unwrap_or("-"),
        rebuilt.verification_status.as_deref().unwrap_or("-"),
        rebuilt.verification_reason.as_deref().unwrap_or("-"),
        reaches_text(&rebuilt.profile_reaches)
    )
}

fn patch_text(state: &PatchState) -> String {
    let opt = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    let mut text = format!(
        "patch {}: {}\n  run: {}\n  corpus type: {}\n  syllables: {}",
        state.patch,
        state.loader_status,
        opt(&state.run_id),
        opt(&state.corpus_type),
        state.syllable_count
    );
    if let Some(stage) = &state.loading_stage {
        text.push_str(&format!("\n  loading stage: {stage}"));
    }
    if let Some(error) = &state.loading_error {
        text.push_str(&format!("\n  loading error: {error}"));
    }
    if state.manifest_ipc_verification_status.is_some() {
        text.push_str(&format!(
            "\n  manifest ipc: {} ({})",
            opt(&state.manifest_ipc_verification_status),
            opt(&state.manifest_ipc_verification_reason)
        ));
    }
    if state.reach_cache_status.is_some() {
        text.push_str(&format!(
            "\n  reach cache: {} / {} ({})",
            opt(&state.reach_cache_status),
            opt(&state.reach_cache_ipc_verification_status),
            opt(&state.reach_cache_ipc_verification_reason)
        ));
    }
    if !state.profile_reaches.is_empty() {
        text.push_str(&reaches_text(&state.profile_reaches));
    }
    text
}

fn runs_text(runs: &[pb::RunSummary]) -> String {
    if runs.is_empty() {
        return "no runs".to_owned();
    }
    let mut text = format!(
        "{:<32} {:<10} {:>9}  {:<10} {:<9} {}",
        "run", "extractor", "syllables", "status", "manifest", "corpus"
    );
    for run in runs {
        let corpus = match (run.has_corpus_db, run.has_annotated_json) {
            (true, true) => "db+json",
            (true, false) => "db",
            (false, true) => "json",
            (false, false) => "-",
        };
        text.push_str(&format!(
            "\n{:<32} {:<10} {:>9}  {:<10} {:<9} {}",
            run.run_id,
            run.extractor,
            run.syllable_count
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            run.status,
            run.manifest_ipc_verification_status,
            corpus
        ));
    }
    text
}
