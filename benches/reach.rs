//! Reach engine benchmarks: all four profiles on synthetic corpora of
//! 10k..1M syllables, the stress variant (nearly every syllable reachable)
//! at 1M, and the class-structure build (`Walker::new`) at 1M.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use walker_service::domain::reach::synthetic::{stress_settings, synthetic_corpus};
use walker_service::domain::reach::{Walker, WalkerSettings};

const SEED: u64 = 0x5eed;

fn all_profiles(c: &mut Criterion) {
    let mut group = c.benchmark_group("reach_all_profiles");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    for size in [10_000usize, 100_000, 500_000, 1_000_000] {
        let walker = Walker::new(synthetic_corpus(size, SEED), WalkerSettings::default())
            .expect("synthetic corpus is valid");
        group.bench_with_input(BenchmarkId::from_parameter(size), &walker, |b, walker| {
            b.iter(|| black_box(walker.compute_all_reaches().expect("reaches")))
        });
    }
    group.finish();
}

fn stress(c: &mut Criterion) {
    let mut group = c.benchmark_group("reach_stress");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    let walker = Walker::new(synthetic_corpus(1_000_000, SEED), stress_settings())
        .expect("synthetic corpus is valid");
    group.bench_function("1000000", |b| {
        b.iter(|| black_box(walker.compute_all_reaches().expect("reaches")))
    });
    group.finish();
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("walker_new");
    group.sample_size(10);
    let corpus = synthetic_corpus(1_000_000, SEED);
    group.bench_function("1000000", |b| {
        b.iter_batched(
            || corpus.clone(),
            |corpus| black_box(Walker::new(corpus, WalkerSettings::default()).expect("walker")),
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, all_profiles, stress, build);
criterion_main!(benches);
