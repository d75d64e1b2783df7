//! End-to-end rebuild on synthetic runs of 10k..1M syllables: load the
//! corpus from `corpus.db`, build the walker, compute the four profiles and
//! write the cache file atomically (what a cache-miss load or a
//! `RebuildReachCache` does, without the gRPC hop).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use walker_service::domain::reach::synthetic::synthetic_corpus;
use walker_service::domain::reach::{Walker, WalkerSettings};
use walker_service::rundir::cache_file::write_cache;
use walker_service::rundir::corpus::load_corpus;
use walker_service::rundir::runs::RunsDir;
use walker_service::rundir::writer::write_run_dir;

const RUN_ID: &str = "20261203_130000_synthetic";

fn end_to_end(c: &mut Criterion) {
    let mut group = c.benchmark_group("rebuild_end_to_end");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    let settings = WalkerSettings::default();
    for size in [10_000usize, 100_000, 500_000, 1_000_000] {
        let runs_dir = tempfile::tempdir().expect("temp dir");
        write_run_dir(runs_dir.path(), RUN_ID, &synthetic_corpus(size, 0x5eed)).expect("run dir");
        let runs = RunsDir::open(runs_dir.path()).expect("runs dir");
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                let run = runs.find_run(RUN_ID).expect("run");
                let loaded = load_corpus(&run).expect("corpus");
                let walker = Walker::new(loaded.corpus, settings.clone()).expect("walker");
                let reaches = walker.compute_all_reaches().expect("reaches");
                let path = write_cache(
                    run.path(),
                    RUN_ID,
                    run.manifest().raw(),
                    &settings,
                    &reaches,
                    "2026-12-03T13:00:00Z",
                )
                .expect("cache written");
                black_box(path)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
