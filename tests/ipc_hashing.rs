//! The canonical JSON renderer and both hashes against golden cases computed
//! by the Python `pipeworks-ipc` library (tests/data/hash_vectors.json).

use serde_json::Value;
use sha2::{Digest, Sha256};
use walker_service::domain::ipc::{
    compact_text, indented_text, is_sha256_hex, output_hash, output_hash_of_text, payload_hash,
    payload_text, python_float_repr,
};

const VECTORS: &str = include_str!("data/hash_vectors.json");

fn cases() -> Vec<Value> {
    let root: Value = serde_json::from_str(VECTORS).unwrap();
    let cases = root["cases"].as_array().unwrap().clone();
    assert_eq!(cases.len(), 12, "the golden file has 12 cases");
    cases
}

fn case(name: &str) -> Value {
    cases()
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

fn str_of<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing"))
}

/// Checks one golden case end to end: both texts and both hashes.
fn check(name: &str) {
    let c = case(name);
    let payload = &c["payload"];
    assert_eq!(
        payload_text(payload),
        str_of(&c, "python_payload_text"),
        "{name}: payload text"
    );
    assert_eq!(
        payload_hash(payload),
        str_of(&c, "payload_hash"),
        "{name}: payload hash"
    );
    let canonical = str_of(&c, "output_canonical");
    assert_eq!(compact_text(payload), canonical, "{name}: output canonical");
    assert_eq!(
        output_hash_of_text(canonical),
        str_of(&c, "output_hash"),
        "{name}: output hash of text"
    );
    assert_eq!(
        output_hash(payload),
        str_of(&c, "output_hash"),
        "{name}: output hash"
    );
    if let Some(hashed) = c.get("output_hashed_text").and_then(Value::as_str) {
        // The normalised text is what is actually hashed.
        assert_eq!(
            hex::encode(Sha256::digest(hashed.as_bytes())),
            str_of(&c, "output_hash")
        );
    }
    if let Some(expect) = c.get("expect") {
        if let Some(h) = expect.get("payload_hash") {
            assert_eq!(
                payload_hash(payload),
                h.as_str().unwrap(),
                "{name}: expected payload hash"
            );
        }
        if let Some(h) = expect.get("output_hash") {
            assert_eq!(
                output_hash(payload),
                h.as_str().unwrap(),
                "{name}: expected output hash"
            );
        }
    }
}

#[test]
fn every_case_is_covered_by_a_test() {
    let names: Vec<String> = cases()
        .iter()
        .map(|c| str_of(c, "name").to_owned())
        .collect();
    let tested = [
        "float_0.1_plus_0.2",
        "float_1e-05",
        "float_1e16",
        "float_neg_zero",
        "floats_mixed_object",
        "float_vs_int_same_value",
        "key_order_case_and_unicode",
        "string_escapes",
        "double_spaces",
        "small_cache_input_payload",
        "small_cache_output_payload",
        "small_manifest_output_payload",
    ];
    assert_eq!(names, tested);
}

#[test]
fn float_0_1_plus_0_2() {
    check("float_0.1_plus_0.2");
}

#[test]
fn float_1e_05() {
    check("float_1e-05");
}

#[test]
fn float_1e16() {
    check("float_1e16");
}

#[test]
fn float_neg_zero() {
    check("float_neg_zero");
}

#[test]
fn floats_mixed_object() {
    check("floats_mixed_object");
}

#[test]
fn float_vs_int_same_value() {
    check("float_vs_int_same_value");
}

#[test]
fn key_order_case_and_unicode() {
    check("key_order_case_and_unicode");
}

#[test]
fn string_escapes() {
    check("string_escapes");
}

#[test]
fn double_spaces() {
    check("double_spaces");
    // The payload hash must not normalise: the same text with collapsed spaces differs.
    let c = case("double_spaces");
    let collapsed: Value = serde_json::from_str(str_of(&c, "output_hashed_text")).unwrap();
    assert_ne!(payload_hash(&collapsed), str_of(&c, "payload_hash"));
}

#[test]
fn small_cache_input_payload() {
    check("small_cache_input_payload");
}

#[test]
fn small_cache_output_payload() {
    check("small_cache_output_payload");
}

#[test]
fn small_manifest_output_payload() {
    check("small_manifest_output_payload");
}

#[test]
fn a_changed_payload_changes_both_hashes() {
    let c = case("small_cache_output_payload");
    let mut payload = c["payload"].clone();
    payload["profiles"]["clerical"]["reach"] = Value::from(19);
    assert_ne!(payload_hash(&payload), str_of(&c, "payload_hash"));
    assert_ne!(output_hash(&payload), str_of(&c, "output_hash"));
}

#[test]
// Exact halfway doubles are written out in full on purpose.
#[allow(clippy::excessive_precision)]
fn float_repr_edge_cases() {
    let cases: &[(f64, &str)] = &[
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (2.0, "2.0"),
        (0.001, "0.001"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (0.00012, "0.00012"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (12345678901234567.0, "1.2345678901234568e+16"),
        (5e-324, "5e-324"),
        (f64::MAX, "1.7976931348623157e+308"),
        (-2.5e-7, "-2.5e-07"),
        (1e-310, "1e-310"),
        // Two shortest candidates, the double exactly halfway: CPython takes the even one.
        (1059438285926254.25, "1059438285926254.2"),
        (26363981746409.3125, "26363981746409.312"),
    ];
    for &(x, expected) in cases {
        assert_eq!(python_float_repr(x), expected);
    }
}

#[test]
fn parsed_floats_render_as_written_by_python() {
    // float_roundtrip parsing + repr rendering: the text survives a round trip.
    for text in [
        "0.30000000000000004",
        "1e-05",
        "1e+16",
        "-0.0",
        "5e-324",
        "0.7",
        "1.7976931348623157e+308",
    ] {
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(compact_text(&value), text);
    }
}

#[test]
fn integers_are_plain() {
    let value: Value =
        serde_json::from_str("[0, -1, 18446744073709551615, -9223372036854775808]").unwrap();
    assert_eq!(
        payload_text(&value),
        "[0, -1, 18446744073709551615, -9223372036854775808]"
    );
}

#[test]
fn indented_text_matches_python_indent_2() {
    let value: Value =
        serde_json::from_str(r#"{"b": [1, [], {}], "a": {"k": "v\u00e9"}}"#).unwrap();
    let expected =
        "{\n  \"a\": {\n    \"k\": \"vé\"\n  },\n  \"b\": [\n    1,\n    [],\n    {}\n  ]\n}";
    assert_eq!(indented_text(&value), expected);
}

#[test]
fn sha256_hex_shape() {
    assert!(is_sha256_hex(&"a".repeat(64)));
    assert!(!is_sha256_hex(&"A".repeat(64)));
    assert!(!is_sha256_hex(&"a".repeat(63)));
    assert!(!is_sha256_hex(&"g".repeat(64)));
    assert!(!is_sha256_hex(""));
}

// ---------------------------------------------------------------------------
// Manifest IPC verification (SEMANTICS §2): one test per (status, reason) row.

mod manifest_verification {
    use std::fs;
    use std::path::Path;

    use serde_json::{Value, json};
    use walker_service::domain::ipc::payload_hash;
    use walker_service::rundir::manifest_ipc::{
        ManifestVerification, verify_manifest_file, verify_manifest_value,
    };

    const DEMO_MANIFEST: &str = include_str!("../demo/runs/20261203_124212_pyphen/manifest.json");

    fn demo() -> Value {
        serde_json::from_str(DEMO_MANIFEST).unwrap()
    }

    fn verdict(v: ManifestVerification) -> (&'static str, &'static str) {
        (v.status, v.reason)
    }

    fn of_value(manifest: &Value) -> (&'static str, &'static str) {
        verdict(verify_manifest_value(manifest))
    }

    fn of_file_with(bytes: &[u8]) -> (&'static str, &'static str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        fs::write(&path, bytes).unwrap();
        verdict(verify_manifest_file(&path))
    }

    #[test]
    fn demo_manifest_verifies() {
        assert_eq!(of_value(&demo()), ("verified", "hashes-match"));
        assert_eq!(
            of_file_with(DEMO_MANIFEST.as_bytes()),
            ("verified", "hashes-match")
        );
        let on_disk = Path::new("demo/runs/20261203_124212_pyphen/manifest.json");
        assert_eq!(
            verdict(verify_manifest_file(on_disk)),
            ("verified", "hashes-match")
        );
    }

    #[test]
    fn missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        assert_eq!(
            verdict(verify_manifest_file(&path)),
            ("missing", "manifest-missing")
        );
        // A "run directory" that is a plain file has no manifest either.
        let not_a_dir = dir.path().join("run");
        fs::write(&not_a_dir, b"x").unwrap();
        assert_eq!(
            verdict(verify_manifest_file(&not_a_dir.join("manifest.json"))),
            ("missing", "manifest-missing")
        );
    }

    #[test]
    fn unparsable_file() {
        assert_eq!(
            of_file_with(b"{\"manifest_version\": 1,"),
            ("error", "manifest-parse-error")
        );
        assert_eq!(of_file_with(b""), ("error", "manifest-parse-error"));
        assert_eq!(
            of_file_with(b"{\"a\": \"\xff\"}"),
            ("error", "manifest-parse-error")
        );
        // Unreadable: a directory where the file should be.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        fs::create_dir(&path).unwrap();
        assert_eq!(
            verdict(verify_manifest_file(&path)),
            ("error", "manifest-parse-error")
        );
    }

    #[test]
    fn not_an_object() {
        assert_eq!(of_file_with(b"[1, 2]"), ("error", "manifest-not-object"));
        assert_eq!(of_file_with(b"null"), ("error", "manifest-not-object"));
        assert_eq!(
            of_value(&json!("manifest")),
            ("error", "manifest-not-object")
        );
    }

    #[test]
    fn missing_ipc_block() {
        let mut m = demo();
        m.as_object_mut().unwrap().remove("ipc");
        assert_eq!(of_value(&m), ("missing", "missing-ipc-block"));
        m["ipc"] = json!(["not", "an", "object"]);
        assert_eq!(of_value(&m), ("missing", "missing-ipc-block"));
    }

    #[test]
    fn missing_both_hashes() {
        let mut m = demo();
        m["ipc"] = json!({});
        assert_eq!(of_value(&m), ("missing", "missing-input-output-hash"));
        // Present but not lowercase 64-hex counts as missing.
        m["ipc"] = json!({"input_hash": "A".repeat(64), "output_hash": null});
        assert_eq!(of_value(&m), ("missing", "missing-input-output-hash"));
    }

    #[test]
    fn missing_input_hash() {
        let mut m = demo();
        m["ipc"]["input_hash"] = json!("abc");
        assert_eq!(of_value(&m), ("missing", "missing-input-hash"));
    }

    #[test]
    fn missing_output_hash() {
        let mut m = demo();
        m["ipc"].as_object_mut().unwrap().remove("output_hash");
        assert_eq!(of_value(&m), ("missing", "missing-output-hash"));
    }

    #[test]
    fn input_mismatch() {
        let mut m = demo();
        m["config"]["min_syllable_length"] = json!(3);
        assert_eq!(of_value(&m), ("mismatch", "input-mismatch"));
        // 2.0 is not 2 for the hash.
        let mut m = demo();
        m["config"]["min_syllable_length"] = json!(2.0);
        assert_eq!(of_value(&m), ("mismatch", "input-mismatch"));
    }

    #[test]
    fn output_mismatch() {
        let mut m = demo();
        m["metrics"]["files_processed"] = json!(6);
        assert_eq!(of_value(&m), ("mismatch", "output-mismatch"));
        let mut m = demo();
        m["artifacts"][0]["size_bytes"] = json!(1);
        assert_eq!(of_value(&m), ("mismatch", "output-mismatch"));
    }

    #[test]
    fn input_output_mismatch() {
        let mut m = demo();
        m["language"] = json!("de_DE");
        m["artifacts"].as_array_mut().unwrap().pop();
        assert_eq!(of_value(&m), ("mismatch", "input-output-mismatch"));
    }

    #[test]
    fn fields_outside_the_payloads_do_not_matter() {
        let mut m = demo();
        m["status"] = json!("failed");
        m["artifacts"][0]["sha256"] = json!("extra fields of an artifact are not hashed");
        // Non-object artifact entries are skipped, as the pipeline does.
        m["artifacts"].as_array_mut().unwrap().push(json!("junk"));
        assert_eq!(of_value(&m), ("verified", "hashes-match"));
    }

    #[test]
    fn absent_config_fields_hash_as_null() {
        let payload = json!({
            "extractor": "nltk", "language": null, "source_path": null, "file_pattern": null,
            "min_syllable_length": null, "max_syllable_length": null,
            "run_normalize": null, "run_annotate": null,
        });
        let mut m = demo();
        let obj = m.as_object_mut().unwrap();
        obj.remove("language");
        obj.insert("extractor".into(), json!("nltk"));
        obj.insert("config".into(), json!("not an object"));
        m["ipc"]["input_hash"] = json!(payload_hash(&payload));
        assert_eq!(of_value(&m), ("verified", "hashes-match"));
    }

    #[test]
    fn uniterable_artifacts_are_an_error() {
        let mut m = demo();
        m["artifacts"] = Value::Null;
        assert_eq!(of_value(&m), ("error", "verification-error:TypeError"));
        m["artifacts"] = json!(5);
        assert_eq!(of_value(&m), ("error", "verification-error:TypeError"));
        // An object iterates as its keys in Python: no artifacts, so a mismatch.
        m["artifacts"] = json!({"path": "data/corpus.db"});
        assert_eq!(of_value(&m), ("mismatch", "output-mismatch"));
    }
}
