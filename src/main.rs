//! `walker-service`: run the server (`serve`) or call one (`lock`, `load`,
//! `rebuild`, `patch`, `runs`).

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use walker_service::app::App;
use walker_service::cli::{self, ClientCommand, ClientOptions};
use walker_service::clock::{Clock, SystemClock};
use walker_service::config::{LeaseStoreConfig, LoadSpec, LogFormat, PatchKey, ServeConfig};
use walker_service::demo;
use walker_service::domain::leases::{LeaseLimits, LeaseTable};
use walker_service::domain::reach::WalkerSettings;
use walker_service::lease_store::{LeaseStore, LeaseTime, RedisLeaseStore};
use walker_service::rundir::runs::RunsDir;
use walker_service::server::{self, ServerOptions};
use walker_service::shutdown;

#[derive(Debug, Parser)]
#[command(
    name = "walker-service",
    version,
    about = "The syllable walker as a gRPC service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    client: ClientOptions,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gRPC server.
    Serve(ServeConfig),
    #[command(flatten)]
    Client(ClientCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => serve(config),
        Command::Client(command) => cli::run(command, cli.client),
    }
}

fn init_logging(filter: &str, format: LogFormat) -> Result<(), String> {
    let filter =
        EnvFilter::try_new(filter).map_err(|e| format!("invalid --log filter {filter:?}: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| format!("cannot initialise logging: {e}"))
}

fn serve(config: ServeConfig) -> ExitCode {
    if let Err(message) = init_logging(&config.log, config.log_format) {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_server(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run_server(config: ServeConfig) -> Result<(), String> {
    let limits = LeaseLimits {
        max_leases: usize::try_from(config.max_leases).unwrap_or(usize::MAX),
        ..LeaseLimits::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let leases: LeaseStore = match &config.lease_store {
        LeaseStoreConfig::Memory => {
            LeaseTable::new(Arc::clone(&clock), config.lock_ttl_secs, limits).into()
        }
        LeaseStoreConfig::Redis(url) => {
            let store = RedisLeaseStore::connect(
                url,
                &config.lease_key_prefix,
                config.lock_ttl_secs,
                limits,
                LeaseTime::Redis,
                Duration::from_millis(config.lease_store_timeout_ms),
            )
            .await
            .map_err(|e| {
                format!(
                    "cannot use the lease store at {}: {e}",
                    config.lease_store.display()
                )
            })?;
            tracing::info!(
                store = config.lease_store.display(),
                prefix = config.lease_key_prefix,
                "leases shared through Redis"
            );
            store.into()
        }
    };
    // Without --runs-dir, serve the bundled demo from a writable copy that
    // lives as long as the server.
    let mut preload = config.load.clone();
    let (runs_root, _demo_dir) = match &config.runs_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("walker-demo-")
                .tempdir()
                .map_err(|e| format!("cannot create the demo runs directory: {e}"))?;
            demo::materialise(dir.path()).map_err(|e| format!("cannot write the demo run: {e}"))?;
            if preload.is_empty() {
                preload.push(LoadSpec {
                    patch: PatchKey::A,
                    run_id: demo::DEMO_RUN_ID.to_owned(),
                });
            }
            tracing::info!(runs_dir = %dir.path().display(), "serving the bundled demo run");
            (dir.path().to_path_buf(), Some(dir))
        }
    };
    let runs = RunsDir::open(&runs_root).map_err(|e| e.to_string())?;
    let app = App::new(leases, runs, WalkerSettings::default(), clock);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let options = ServerOptions {
        drain: Duration::from_secs(config.drain_secs),
        ..ServerOptions::default()
    };
    server::run(app, listener, options, preload, shutdown::signal())
        .await
        .map_err(|e| e.to_string())
}
