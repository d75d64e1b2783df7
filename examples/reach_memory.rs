//! Peak memory of a 1M-syllable reach computation: builds a synthetic
//! corpus, the walker and all four profiles' reaches, then prints the
//! process's peak resident set (VmHWM) with the timings.
//!
//! `cargo run --release --example reach_memory [size] [--stress]`

use std::time::Instant;

use walker_service::domain::reach::synthetic::{stress_settings, synthetic_corpus};
use walker_service::domain::reach::{Walker, WalkerSettings};

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let size: usize = match args.iter().find(|a| !a.starts_with("--")) {
        Some(a) => a.parse()?,
        None => 1_000_000,
    };
    let settings = if args.iter().any(|a| a == "--stress") {
        stress_settings()
    } else {
        WalkerSettings::default()
    };

    let t = Instant::now();
    let corpus = synthetic_corpus(size, 0x5eed);
    println!("corpus: {size} syllables in {:.1} ms", ms(t));
    let after_corpus = vm_hwm_kib();

    let t = Instant::now();
    let walker = Walker::new(corpus, settings)?;
    println!(
        "walker: {} classes in {:.1} ms",
        walker.class_count(),
        ms(t)
    );

    let t = Instant::now();
    let (reaches, stats) = walker.compute_all_reaches_with_stats()?;
    println!("reaches: {:.1} ms", ms(t));
    for (r, s) in reaches.iter().zip(&stats) {
        println!(
            "  {:<9} reach {:>7} unique {:>8}/{} ({:.2} ms; {} class pairs, {} near-threshold decisions, {} exact classes)",
            r.profile_name,
            r.reach,
            r.unique_reachable,
            r.total,
            r.computation_ms,
            s.class_pairs,
            s.near_threshold_decisions,
            s.exact_classes
        );
    }
    if let (Some(corpus_kib), Some(peak_kib)) = (after_corpus, vm_hwm_kib()) {
        println!(
            "VmHWM: {:.1} MiB after the corpus, {:.1} MiB peak",
            corpus_kib as f64 / 1024.0,
            peak_kib as f64 / 1024.0
        );
    }
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
