//! Server configuration: command-line flags with environment fallbacks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, ValueEnum};

pub use crate::domain::patch::PatchKey;

/// `--load PATCH=RUN_ID`: a run to load before the server reports SERVING.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSpec {
    pub patch: PatchKey,
    pub run_id: String,
}

impl FromStr for LoadSpec {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (patch, run_id) = spec.split_once('=').ok_or_else(|| {
            format!("expected PATCH=RUN_ID (e.g. a=20261203_124212_pyphen), got {spec:?}")
        })?;
        let patch = match patch.trim() {
            p if p.eq_ignore_ascii_case("a") => PatchKey::A,
            p if p.eq_ignore_ascii_case("b") => PatchKey::B,
            other => return Err(format!("patch must be 'a' or 'b', got {other:?}")),
        };
        let run_id = run_id.trim();
        if run_id.is_empty() {
            return Err("run id must not be empty".to_owned());
        }
        Ok(Self {
            patch,
            run_id: run_id.to_owned(),
        })
    }
}

/// Where session leases live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseStoreConfig {
    /// In this process: the default, nothing to set up.
    Memory,
    /// In Redis at this URL, shared by every replica.
    Redis(String),
}

impl FromStr for LeaseStoreConfig {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("memory") {
            Ok(Self::Memory)
        } else if value.starts_with("redis://")
            || value.starts_with("rediss://")
            || value.starts_with("redis+unix://")
            || value.starts_with("unix://")
        {
            Ok(Self::Redis(value.to_owned()))
        } else {
            Err(format!(
                "expected `memory` or a Redis URL such as redis://127.0.0.1:6379/0, got {value:?}"
            ))
        }
    }
}

impl LeaseStoreConfig {
    /// The store as logs and error messages may show it: a password in a
    /// Redis URL (`redis://:secret@host`) is never printed.
    pub fn display(&self) -> String {
        match self {
            Self::Memory => "memory".to_owned(),
            Self::Redis(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme_end), Some(at)) if at > scheme_end => {
                    format!("{}***{}", &url[..scheme_end + 3], &url[at..])
                }
                _ => url.clone(),
            },
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Flags of `walker-service serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "WALKER_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Directory holding run directories. Without it, the bundled demo run is
    /// served from a writable temporary copy and loaded into patch a.
    #[arg(long, env = "WALKER_RUNS_DIR")]
    pub runs_dir: Option<PathBuf>,

    /// Load a run into a patch before reporting SERVING (repeatable; the
    /// environment variable takes a comma-separated list).
    #[arg(
        long = "load",
        value_name = "PATCH=RUN_ID",
        env = "WALKER_LOAD",
        value_delimiter = ','
    )]
    pub load: Vec<LoadSpec>,

    /// Session lease time-to-live, in seconds.
    #[arg(long, env = "WALKER_LOCK_TTL_SECS", default_value_t = 45,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub lock_ttl_secs: u64,

    /// Most session leases held at once; more get RESOURCE_EXHAUSTED.
    #[arg(long, env = "WALKER_MAX_LEASES", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_leases: u64,

    /// Where session leases live: `memory` (this process) or a Redis URL
    /// (`redis://HOST:PORT/DB`) shared by every replica behind one name.
    #[arg(long, env = "WALKER_LEASE_STORE", default_value = "memory")]
    pub lease_store: LeaseStoreConfig,

    /// Prefix of every Redis key the lease store writes.
    #[arg(long, env = "WALKER_LEASE_KEY_PREFIX", default_value = "walker:")]
    pub lease_key_prefix: String,

    /// Longest wait for the lease store, in milliseconds; a slower or
    /// unreachable store answers ERROR_CODE_INTERNAL instead of hanging.
    #[arg(long, env = "WALKER_LEASE_STORE_TIMEOUT_MS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub lease_store_timeout_ms: u64,

    /// After SIGINT/SIGTERM, seconds to report NOT_SERVING while still
    /// answering, so load balancers can move traffic away.
    #[arg(long, env = "WALKER_DRAIN_SECS", default_value_t = 0)]
    pub drain_secs: u64,

    /// Log filter (tracing `EnvFilter` syntax, e.g. `info` or `walker_service=debug`).
    #[arg(long, env = "WALKER_LOG", default_value = "info")]
    pub log: String,

    /// Log line format.
    #[arg(long, env = "WALKER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_spec_parses_patch_and_run() {
        let spec: LoadSpec = "B=20261203_124212_pyphen".parse().unwrap();
        assert_eq!(spec.patch, PatchKey::B);
        assert_eq!(spec.run_id, "20261203_124212_pyphen");
        assert!("c=x".parse::<LoadSpec>().is_err());
        assert!("a=".parse::<LoadSpec>().is_err());
        assert!("a".parse::<LoadSpec>().is_err());
    }

    #[test]
    fn lease_store_is_memory_or_a_redis_url() {
        assert_eq!("memory".parse(), Ok(LeaseStoreConfig::Memory));
        assert_eq!(
            "redis://127.0.0.1:6379/0".parse(),
            Ok(LeaseStoreConfig::Redis("redis://127.0.0.1:6379/0".into()))
        );
        assert!("postgres://x".parse::<LeaseStoreConfig>().is_err());
    }

    #[test]
    fn a_redis_password_is_never_displayed() {
        let store: LeaseStoreConfig = "redis://user:secret@10.0.0.1:6379/2".parse().unwrap();
        assert_eq!(store.display(), "redis://***@10.0.0.1:6379/2");
        let plain: LeaseStoreConfig = "redis://127.0.0.1:6379/0".parse().unwrap();
        assert_eq!(plain.display(), "redis://127.0.0.1:6379/0");
    }
}
