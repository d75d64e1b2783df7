//! Heartbeat throughput and latency with 64 concurrent clients, for the
//! memory lease store and for Redis, in the same run: a real server on a
//! loopback port, real tonic clients (one connection each).
//!
//! `cargo bench --bench heartbeat`. Redis is measured when
//! `WALKER_BENCH_REDIS_URL` (or `WALKER_TEST_REDIS_URL`) names one, else
//! redis://127.0.0.1:6379/0 if it answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tonic::transport::Channel;
use walker_service::api::pb::HeartbeatLockRequest;
use walker_service::api::pb::walker_service_client::WalkerServiceClient;
use walker_service::app::App;
use walker_service::clock::{Clock, SystemClock};
use walker_service::domain::leases::{LeaseLimits, LeaseTable};
use walker_service::domain::reach::WalkerSettings;
use walker_service::lease_store::{LeaseStore, LeaseTime, RedisLeaseStore};
use walker_service::rundir::runs::RunsDir;
use walker_service::server::{self, ServerOptions};

const CLIENTS: usize = 64;
const CALLS_PER_CLIENT: usize = 400;
const WARMUP_PER_CLIENT: usize = 20;

struct Figures {
    calls: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

async fn measure(store: LeaseStore) -> Figures {
    let runs_dir = tempfile::tempdir().expect("temp dir");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let runs = RunsDir::open(runs_dir.path()).expect("runs dir");
    let app = App::new(store, runs, WalkerSettings::default(), clock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server::run(
        app,
        listener,
        ServerOptions::default(),
        Vec::new(),
        async {
            let _ = stopped.await;
        },
    ));

    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let channel = loop {
            if let Ok(channel) = Channel::from_shared(format!("http://{addr}"))
                .expect("uri")
                .connect()
                .await
            {
                break channel;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        clients.push(WalkerServiceClient::new(channel));
    }

    let run = |calls: usize, clients: Vec<WalkerServiceClient<Channel>>| async move {
        let mut tasks = Vec::new();
        for (i, mut client) in clients.into_iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(calls);
                for n in 0..calls {
                    // Mostly the client's own session, sometimes a shared one.
                    let session = if n % 8 == 0 {
                        format!("shared-{}", n % 4)
                    } else {
                        format!("session-{i}")
                    };
                    let started = Instant::now();
                    client
                        .heartbeat_lock(HeartbeatLockRequest {
                            session_id: session,
                            lock_holder_id: Some(format!("holder-{i}")),
                        })
                        .await
                        .expect("heartbeat");
                    latencies.push(started.elapsed());
                }
                (client, latencies)
            }));
        }
        let mut clients = Vec::new();
        let mut latencies = Vec::new();
        for task in tasks {
            let (client, mut l) = task.await.expect("client task");
            clients.push(client);
            latencies.append(&mut l);
        }
        (clients, latencies)
    };

    let (clients, _) = run(WARMUP_PER_CLIENT, clients).await;
    let started = Instant::now();
    let (_clients, mut latencies) = run(CALLS_PER_CLIENT, clients).await;
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let figures = Figures {
        calls: latencies.len(),
        elapsed,
        p50: at(0.50),
        p99: at(0.99),
        max: latencies[latencies.len() - 1],
    };
    let _ = stop.send(());
    let _ = server.await;
    figures
}

fn report(name: &str, f: &Figures) {
    println!(
        "heartbeat/{name:<6} {CLIENTS} clients: {:>8.0} calls/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  ({} calls in {:.2} s)",
        f.calls as f64 / f.elapsed.as_secs_f64(),
        f.p50.as_secs_f64() * 1000.0,
        f.p99.as_secs_f64() * 1000.0,
        f.max.as_secs_f64() * 1000.0,
        f.calls,
        f.elapsed.as_secs_f64()
    );
}

async fn redis_store() -> Option<(RedisLeaseStore, String, String)> {
    let url = std::env::var("WALKER_BENCH_REDIS_URL")
        .or_else(|_| std::env::var("WALKER_TEST_REDIS_URL"))
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned());
    let prefix = format!("walker-bench:{}:", std::process::id());
    let store = RedisLeaseStore::connect(
        &url,
        &prefix,
        45,
        LeaseLimits::default(),
        LeaseTime::Redis,
        Duration::from_secs(2),
    )
    .await
    .ok()?;
    Some((store, url, prefix))
}

fn delete_prefix(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut conn) = client.get_connection() else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut conn)
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query(&mut conn);
    }
}

fn main() {
    // Criterion-style filters are passed by `cargo bench`; this bench has one case per store.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let memory = LeaseTable::new(Arc::new(SystemClock), 45, LeaseLimits::default());
        report("memory", &measure(memory.into()).await);
        match redis_store().await {
            Some((store, url, prefix)) => {
                report("redis", &measure(store.into()).await);
                delete_prefix(&url, &prefix);
            }
            None => println!("heartbeat/redis  skipped: no Redis answers"),
        }
    });
}
