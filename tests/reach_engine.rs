//! The reach engine against the Python tool's results for the demo run and
//! against the naive reference implementation.

use std::collections::HashMap;
use std::path::PathBuf;

use proptest::prelude::*;
use rusqlite::{Connection, OpenFlags};
use walker_service::domain::corpus::{Corpus, FEATURE_NAMES};
use walker_service::domain::reach::{
    Profile, ProfileReach, ReachError, Walker, WalkerSettings, reference, synthetic,
};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo corpus in load order, read directly (a test helper, not the
/// service's loader). `immutable=1` reads the WAL-mode database without
/// creating `-wal`/`-shm` files next to it.
fn demo_corpus() -> Corpus {
    let path = manifest_dir().join("demo/runs/20261203_124212_pyphen/data/corpus.db");
    let uri = format!("file:{}?immutable=1", path.display());
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    let sql = format!(
        "SELECT syllable, frequency, {} FROM syllables ORDER BY frequency DESC, rowid ASC",
        FEATURE_NAMES.join(", ")
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut corpus = Corpus::default();
    while let Some(row) = rows.next().unwrap() {
        let syllable: String = row.get(0).unwrap();
        let frequency: i64 = row.get(1).unwrap();
        let mut features = 0u16;
        for bit in 0..FEATURE_NAMES.len() {
            let value: i64 = row.get(2 + bit).unwrap();
            if value != 0 {
                features |= 1 << bit;
            }
        }
        corpus.push(syllable, u64::try_from(frequency).unwrap(), features);
    }
    corpus
}

/// The demo corpus in the annotated JSON's (alphabetical) order.
fn demo_corpus_json_order() -> Corpus {
    let path = manifest_dir()
        .join("demo/runs/20261203_124212_pyphen/data/pyphen_syllables_annotated.json");
    let records: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut corpus = Corpus::default();
    for record in records {
        let mut features = 0u16;
        for (bit, name) in FEATURE_NAMES.iter().enumerate() {
            if record["features"][*name].as_bool().unwrap_or(false) {
                features |= 1 << bit;
            }
        }
        corpus.push(
            record["syllable"].as_str().unwrap().to_owned(),
            record["frequency"].as_u64().unwrap(),
            features,
        );
    }
    corpus
}

fn expected_cache() -> serde_json::Value {
    let path = manifest_dir().join("tests/data/expected/walker_profile_reaches.v1.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn expected_indices(cache: &serde_json::Value, profile: &str) -> Vec<(u32, u32)> {
    cache["profile_reaches"][profile]["reachable_indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_u64().unwrap() as u32,
                pair[1].as_u64().unwrap() as u32,
            )
        })
        .collect()
}

/// Every integer field equal (computation_ms is wall time).
fn assert_same_integers(got: &[ProfileReach], expected: &[ProfileReach]) {
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(expected) {
        assert_eq!(g.profile_name, e.profile_name);
        assert_eq!(
            (g.reach, g.total, g.unique_reachable),
            (e.reach, e.total, e.unique_reachable),
            "profile {}",
            g.profile_name
        );
        assert_eq!(g.max_flips, e.max_flips);
        assert_eq!(g.threshold.to_bits(), e.threshold.to_bits());
        assert_eq!(g.temperature.to_bits(), e.temperature.to_bits());
        assert_eq!(g.frequency_weight.to_bits(), e.frequency_weight.to_bits());
        assert!(
            g.reachable_indices == e.reachable_indices,
            "profile {}: reachable_indices differ",
            g.profile_name
        );
        assert!(g.computation_ms >= 0.0);
    }
}

#[test]
fn demo_run_equals_python_results() {
    let corpus = demo_corpus();
    assert_eq!(corpus.len(), 601);
    let cache = expected_cache();
    let walker = Walker::new(corpus, WalkerSettings::default()).unwrap();
    assert_eq!(walker.class_count(), 144, "occupied feature classes");
    let reaches = walker.compute_all_reaches().unwrap();
    let names: Vec<&str> = reaches.iter().map(|r| r.profile_name.as_str()).collect();
    assert_eq!(names, ["clerical", "dialect", "goblin", "ritual"]);
    for reach in &reaches {
        let e = &cache["profile_reaches"][reach.profile_name.as_str()];
        assert_eq!(u64::from(reach.reach), e["reach"].as_u64().unwrap());
        assert_eq!(u64::from(reach.total), e["total"].as_u64().unwrap());
        assert_eq!(
            u64::from(reach.unique_reachable),
            e["unique_reachable"].as_u64().unwrap()
        );
        assert_eq!(reach.max_flips as u64, e["max_flips"].as_u64().unwrap());
        assert_eq!(reach.temperature, e["temperature"].as_f64().unwrap());
        assert_eq!(
            reach.frequency_weight,
            e["frequency_weight"].as_f64().unwrap()
        );
        assert_eq!(reach.threshold, e["threshold"].as_f64().unwrap());
        let expected = expected_indices(&cache, &reach.profile_name);
        assert!(
            reach.reachable_indices == expected,
            "profile {}: reachable_indices differ from the Python tool's",
            reach.profile_name
        );
    }
    // Per-node count sums from the summary: the mean before rounding.
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(manifest_dir().join("tests/data/expected/summary.json")).unwrap(),
    )
    .unwrap();
    for reach in &reaches {
        let sum: u64 = reach
            .reachable_indices
            .iter()
            .map(|&(_, c)| u64::from(c))
            .sum();
        let detail = &summary["profiles_detail"][reach.profile_name.as_str()];
        assert_eq!(sum, detail["per_node_count_sum"].as_u64().unwrap());
    }
}

#[test]
fn demo_run_reference_equals_python_and_engine() {
    let corpus = demo_corpus();
    let settings = WalkerSettings::default();
    let expected = reference::compute_all_reaches(&corpus, &settings).unwrap();
    let cache = expected_cache();
    for reach in &expected {
        assert!(reach.reachable_indices == expected_indices(&cache, &reach.profile_name));
    }
    let walker = Walker::new(corpus.clone(), settings.clone()).unwrap();
    assert_same_integers(&walker.compute_all_reaches().unwrap(), &expected);
    let exact = Walker::new(corpus, settings)
        .unwrap()
        .force_exact_denominators(true);
    assert_same_integers(&exact.compute_all_reaches().unwrap(), &expected);
}

#[test]
fn demo_run_in_json_order_is_a_permutation() {
    // Unsorted input (alphabetical): same results up to index permutation.
    let db = demo_corpus();
    let json = demo_corpus_json_order();
    let position: HashMap<&str, u32> = db
        .syllables
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    let settings = WalkerSettings::default();
    let from_db = Walker::new(db.clone(), settings.clone())
        .unwrap()
        .compute_all_reaches()
        .unwrap();
    let from_json = Walker::new(json.clone(), settings.clone())
        .unwrap()
        .compute_all_reaches()
        .unwrap();
    assert_same_integers(
        &from_json,
        &reference::compute_all_reaches(&json, &settings).unwrap(),
    );
    for (a, b) in from_db.iter().zip(&from_json) {
        assert_eq!((a.reach, a.unique_reachable), (b.reach, b.unique_reachable));
        let mut mapped: Vec<(u32, u32)> = b
            .reachable_indices
            .iter()
            .map(|&(i, c)| (position[json.syllables[i as usize].as_str()], c))
            .collect();
        mapped.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        assert!(mapped == a.reachable_indices);
    }
}

/// Thresholds equal to, or one ulp around, actual transition probabilities of
/// the demo run: decisions on the threshold itself, which only the exact
/// path can take.
#[test]
fn thresholds_on_real_probabilities() {
    let corpus = demo_corpus();
    let base = WalkerSettings::default();
    for (profile_index, start) in [(0usize, 0usize), (1, 17), (2, 300), (3, 600)] {
        let profile = &base.profiles[profile_index];
        let probabilities =
            reference::transition_probabilities(&corpus, &base, profile, start).unwrap();
        let p = probabilities[probabilities.len() / 2].1;
        for threshold in [p, p.next_up(), p.next_down()] {
            let settings = WalkerSettings {
                threshold,
                profiles: vec![profile.clone()],
                ..base.clone()
            };
            let expected = reference::compute_all_reaches(&corpus, &settings).unwrap();
            let walker = Walker::new(corpus.clone(), settings).unwrap();
            let (got, stats) = walker.compute_all_reaches_with_stats().unwrap();
            assert_same_integers(&got, &expected);
            assert!(
                stats[0].near_threshold_decisions > 0,
                "a threshold equal to a probability must be decided exactly"
            );
        }
    }
}

/// A realistic synthetic corpus, large enough for many classes and groups:
/// default settings, the stress settings and a threshold on a real
/// probability.
#[test]
fn synthetic_corpus_equals_reference() {
    let corpus = synthetic::synthetic_corpus(1_500, 3);
    check_against_reference(&corpus, &WalkerSettings::default());
    let stress = check_against_reference(&corpus, &synthetic::stress_settings());
    assert!(
        stress
            .iter()
            .all(|r| r.unique_reachable as usize > corpus.len() * 9 / 10)
    );
    let base = WalkerSettings::default();
    let p = reference::transition_probabilities(&corpus, &base, &base.profiles[2], 10).unwrap();
    let settings = WalkerSettings {
        threshold: p[p.len() / 3].1,
        ..base
    };
    check_against_reference(&corpus, &settings);
}

fn corpus_of(rows: &[(u64, u16)]) -> Corpus {
    let mut corpus = Corpus::default();
    for (i, &(frequency, features)) in rows.iter().enumerate() {
        corpus.push(format!("s{i}"), frequency, features);
    }
    corpus
}

fn check_against_reference(corpus: &Corpus, settings: &WalkerSettings) -> Vec<ProfileReach> {
    let expected = reference::compute_all_reaches(corpus, settings);
    let fast = Walker::new(corpus.clone(), settings.clone()).and_then(|w| w.compute_all_reaches());
    let exact = Walker::new(corpus.clone(), settings.clone())
        .and_then(|w| w.force_exact_denominators(true).compute_all_reaches());
    match expected {
        Ok(expected) => {
            assert_same_integers(&fast.unwrap(), &expected);
            assert_same_integers(&exact.unwrap(), &expected);
            expected
        }
        Err(e) => {
            assert_eq!(fast.unwrap_err(), e);
            assert_eq!(exact.unwrap_err(), e);
            Vec::new()
        }
    }
}

#[test]
fn single_syllable() {
    let reaches = check_against_reference(&corpus_of(&[(3, 0b101)]), &WalkerSettings::default());
    for r in reaches {
        assert_eq!((r.reach, r.total, r.unique_reachable), (0, 1, 0));
        assert!(r.reachable_indices.is_empty());
    }
}

#[test]
fn all_syllables_in_one_class() {
    let rows: Vec<(u64, u16)> = (0..50).map(|i| (i % 7, 0b1100_0011)).collect();
    let reaches = check_against_reference(&corpus_of(&rows), &WalkerSettings::default());
    for r in reaches {
        assert_eq!((r.reach, r.total, r.unique_reachable), (0, 50, 0));
    }
}

#[test]
fn duplicate_frequencies_and_zero() {
    let rows: Vec<(u64, u16)> = (0..60)
        .map(|i| ([0, 1, 1, 5, 5, 5][i % 6], [0b0, 0b1, 0b11, 0b111][i % 4]))
        .collect();
    let mut settings = WalkerSettings::default();
    for threshold in [0.001, 0.01, 0.05, 0.2] {
        settings.threshold = threshold;
        check_against_reference(&corpus_of(&rows), &settings);
    }
}

#[test]
fn unsorted_corpus_and_large_max_flips() {
    let rows: Vec<(u64, u16)> = (0..80u64)
        .map(|i| {
            (
                (i * 37) % 11,
                ((i * 2654435761) % 4096) as u16 & 0b1111_0000_1111,
            )
        })
        .collect();
    let mut settings = WalkerSettings {
        max_neighbor_distance: 12,
        threshold: 0.002,
        ..WalkerSettings::default()
    };
    settings.profiles[0].max_flips = 40;
    check_against_reference(&corpus_of(&rows), &settings);
    settings.max_neighbor_distance = 1;
    check_against_reference(&corpus_of(&rows), &settings);
}

#[test]
fn errors_match_reference() {
    let corpus = corpus_of(&[(1, 0b0), (2, 0b1), (0, 0b11)]);
    // Overflowing weight.
    let mut settings = WalkerSettings::default();
    settings.profiles[3].frequency_weight = -2.0;
    settings.profiles[3].temperature = 0.03;
    let e = reference::compute_all_reaches(&corpus, &settings).unwrap_err();
    assert!(matches!(e, ReachError::InvalidSettings(_)));
    check_against_reference(&corpus, &settings);
    // Vanishing weights.
    let mut settings = WalkerSettings {
        inertia_cost: 50.0,
        feature_costs: [50.0; 12],
        ..WalkerSettings::default()
    };
    settings.profiles[1].temperature = 0.05;
    check_against_reference(&corpus, &settings);
    assert_eq!(
        Walker::new(Corpus::default(), WalkerSettings::default()).unwrap_err(),
        ReachError::EmptyCorpus
    );
}

/// A random small corpus: feature vectors concentrated on a few nearby
/// classes, frequencies from a small set with ties and zero.
fn corpus_strategy() -> impl Strategy<Value = Corpus> {
    (
        any::<u16>(),
        prop::collection::vec(any::<u16>(), 1..6),
        prop::collection::vec(prop_oneof![0u64..4, 0u64..12_000], 1..6),
        prop::collection::vec((any::<u8>(), any::<u8>()), 1..45),
    )
        .prop_map(|(base, flips, freqs, picks)| {
            // Pool vectors: the base with a few bits flipped.
            let pool: Vec<u16> = flips
                .iter()
                .map(|f| {
                    let mut v = base & 0x0fff;
                    for k in 0..(f % 5) {
                        v ^= 1 << ((f >> (4 + 3 * k)).wrapping_add(k * 5) % 12);
                    }
                    v
                })
                .collect();
            let rows: Vec<(u64, u16)> = picks
                .iter()
                .map(|&(c, f)| {
                    (
                        freqs[usize::from(f) % freqs.len()],
                        pool[usize::from(c) % pool.len()],
                    )
                })
                .collect();
            corpus_of(&rows)
        })
}

fn profile_strategy() -> impl Strategy<Value = Profile> {
    (
        0u32..5,
        0.1f64..5.0,
        prop_oneof![Just(0.0), -2.0f64..2.0, Just(1.0), Just(-1.0)],
    )
        .prop_map(|(max_flips, temperature, frequency_weight)| Profile {
            name: format!("p{max_flips}"),
            max_flips,
            temperature,
            frequency_weight,
        })
}

fn settings_strategy() -> impl Strategy<Value = WalkerSettings> {
    (
        1u32..5,
        0.0f64..2.0,
        prop::array::uniform12(0.0f64..2.5),
        prop::collection::vec(profile_strategy(), 1..5),
        -4.0f64..-0.3,
    )
        .prop_map(
            |(max_neighbor_distance, inertia_cost, feature_costs, profiles, log_threshold)| {
                WalkerSettings {
                    max_neighbor_distance,
                    inertia_cost,
                    feature_costs,
                    threshold: 10f64.powf(log_threshold),
                    profiles,
                    ..WalkerSettings::default()
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn engine_equals_reference(
        corpus in corpus_strategy(),
        settings in settings_strategy(),
        pick in any::<(usize, usize, u8)>(),
    ) {
        let mut settings = settings;
        // Half of the cases: a threshold on (or one ulp around) an actual
        // transition probability of the first profile.
        let (start, candidate, mode) = pick;
        if mode % 2 == 0 {
            let start = start % corpus.len();
            if let Ok(p) = reference::transition_probabilities(
                &corpus, &settings, &settings.profiles[0], start,
            ) && !p.is_empty() {
                let value = p[candidate % p.len()].1;
                settings.threshold = match mode % 6 {
                    0 => value,
                    2 => value.next_up(),
                    _ => value.next_down(),
                };
            }
        }
        let expected = reference::compute_all_reaches(&corpus, &settings);
        let fast = Walker::new(corpus.clone(), settings.clone())
            .and_then(|w| w.compute_all_reaches());
        match expected {
            Ok(expected) => {
                let fast = fast.unwrap();
                prop_assert_eq!(fast.len(), expected.len());
                for (g, e) in fast.iter().zip(&expected) {
                    prop_assert_eq!(
                        (g.reach, g.total, g.unique_reachable),
                        (e.reach, e.total, e.unique_reachable)
                    );
                    prop_assert_eq!(&g.reachable_indices, &e.reachable_indices);
                }
            }
            Err(e) => prop_assert_eq!(fast.unwrap_err(), e),
        }
    }
}
