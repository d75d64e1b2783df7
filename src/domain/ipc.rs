//! Canonical JSON and the `pipeworks-ipc` payload / output hashes (SEMANTICS §6).
//!
//! The hashes are compared with ones computed by the Python `pipeworks-ipc`
//! library, so the text hashed must be byte for byte what CPython's
//! `json.dumps(..., sort_keys=True, ensure_ascii=False)` produces. serde_json's
//! own serializer differs (float notation, separators), hence this renderer.

use serde_json::{Number, Value};
use sha2::{Digest, Sha256};

/// The three layouts of `json.dumps` that the IPC artifacts use.
#[derive(Clone, Copy)]
enum Layout {
    /// Default separators `", "` and `": "`: the payload-hash text.
    Spaced,
    /// Separators `","` and `":"`: the output-hash text.
    Compact,
    /// `indent=2` (separators `","` and `": "`): the files on disk.
    Indented,
}

impl Layout {
    fn item_separator(self) -> &'static str {
        match self {
            Layout::Spaced => ", ",
            Layout::Compact | Layout::Indented => ",",
        }
    }

    fn key_separator(self) -> &'static str {
        match self {
            Layout::Spaced | Layout::Indented => ": ",
            Layout::Compact => ":",
        }
    }
}

/// `json.dumps(value, sort_keys=True, ensure_ascii=False)`.
pub fn payload_text(value: &Value) -> String {
    render(value, Layout::Spaced)
}

/// `json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`.
pub fn compact_text(value: &Value) -> String {
    render(value, Layout::Compact)
}

/// `json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2)`, without
/// a trailing newline. Files written this way diff cleanly against the ones
/// the Python tool writes.
pub fn indented_text(value: &Value) -> String {
    render(value, Layout::Indented)
}

/// SHA-256 hex of [`payload_text`].
pub fn payload_hash(value: &Value) -> String {
    sha256_hex(payload_text(value).as_bytes())
}

/// SHA-256 hex of `text` trimmed, with runs of 2+ spaces collapsed to one.
///
/// Trimming follows Python's `str.strip()`, whose notion of whitespace also
/// covers U+001C..U+001F (Rust's `char::is_whitespace` does not); only U+0020
/// runs are collapsed, as the upstream regex `" {2,}"` does.
pub fn output_hash_of_text(text: &str) -> String {
    let trimmed = text.trim_matches(is_python_space);
    let mut normalised = String::with_capacity(trimmed.len());
    let mut previous_was_space = false;
    for c in trimmed.chars() {
        if c == ' ' {
            if !previous_was_space {
                normalised.push(' ');
            }
            previous_was_space = true;
        } else {
            normalised.push(c);
            previous_was_space = false;
        }
    }
    sha256_hex(normalised.as_bytes())
}

/// Output hash of the compact canonical text of `value`.
pub fn output_hash(value: &Value) -> String {
    output_hash_of_text(&compact_text(value))
}

/// True for a lowercase 64-hex SHA-256 digest.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Python's `repr(float)` of a finite double: the shortest digits that
/// round-trip, in fixed notation for `1e-4 <= |x| < 1e16` (always with a
/// fractional part, `1.0`), otherwise `d[.ddd]e±XX` (`1e-05`, `1e+16`).
///
/// Non-finite values cannot occur in a `serde_json::Value`; should one be
/// passed anyway it is rendered like Python does (`nan`, `inf`), never panics.
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let scientific = shortest_scientific(x.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x.is_sign_negative() { "-" } else { "" };

    if (-4..16).contains(&exponent) {
        // Position of the decimal point counted from the left of `digits`.
        let point = exponent + 1;
        let body = if point <= 0 {
            let zeros = "0".repeat(point.unsigned_abs() as usize);
            format!("0.{zeros}{digits}")
        } else {
            let point = point as usize;
            if point < digits.len() {
                format!("{}.{}", &digits[..point], &digits[point..])
            } else {
                let zeros = "0".repeat(point - digits.len());
                format!("{digits}{zeros}.0")
            }
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        )
    }
}

/// The shortest round-trip digits of `x` (finite, non-negative) as `d.ddde±N`.
///
/// Rust's `{:e}` already finds the shortest length, but when two candidates of
/// that length round-trip and the double lies exactly halfway between them
/// (e.g. `...254.25` -> `.2` or `.3`), it rounds up, while CPython's repr picks
/// the candidate nearest the exact value, ties to even. Rust's fixed-precision
/// formatting is exact and rounds ties to even, so the correctly rounded string
/// of the shortest length is used whenever it round-trips.
fn shortest_scientific(x: f64) -> String {
    let shortest = format!("{x:e}");
    let digit_count = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.chars().filter(char::is_ascii_digit).count());
    let nearest = format!("{:.*e}", digit_count.saturating_sub(1), x);
    if nearest.parse::<f64>() == Ok(x) {
        nearest
    } else {
        shortest
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn render(value: &Value, layout: Layout) -> String {
    let mut out = String::new();
    write_value(&mut out, value, layout, 0);
    out
}

fn write_value(out: &mut String, value: &Value, layout: Layout, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(layout.item_separator());
                }
                write_newline(out, layout, depth + 1);
                write_value(out, item, layout, depth + 1);
            }
            write_newline(out, layout, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            // serde_json's map is ordered by key today, but the `preserve_order`
            // feature (which any crate in the build can switch on) would make it
            // insertion-ordered; sorting here keeps the hash independent of that.
            // Byte order of UTF-8 is code-point order, which is Python's.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(layout.item_separator());
                }
                write_newline(out, layout, depth + 1);
                write_string(out, key);
                out.push_str(layout.key_separator());
                write_value(out, item, layout, depth + 1);
            }
            write_newline(out, layout, depth);
            out.push('}');
        }
    }
}

fn write_newline(out: &mut String, layout: Layout, depth: usize) {
    if let Layout::Indented = layout {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

fn write_number(out: &mut String, number: &Number) {
    if number.is_f64() {
        match number.as_f64() {
            Some(x) => out.push_str(&python_float_repr(x)),
            None => out.push_str(&number.to_string()),
        }
    } else {
        // Integers (u64 / i64) print plainly in both languages.
        out.push_str(&number.to_string());
    }
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // Exact halfway doubles are written out in full on purpose.
    #[allow(clippy::excessive_precision)]
    fn float_repr_matches_python() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (-1.0, "-1.0"),
            (0.5, "0.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e-4, "0.0001"),
            (0.000123, "0.000123"),
            (9.999999999999999e-5, "9.999999999999999e-05"),
            (1e-5, "1e-05"),
            (-1e-5, "-1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e-7, "1e-07"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e22, "1e+22"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN, "-1.7976931348623157e+308"),
            (123456789.0, "123456789.0"),
            (123456789012345.0, "123456789012345.0"),
            (1.0 / 3.0, "0.3333333333333333"),
            (100.0, "100.0"),
            (1011.34, "1011.34"),
            // Exactly halfway between two shortest candidates: ties to even.
            (1059438285926254.25, "1059438285926254.2"),
            (26363981746409.3125, "26363981746409.312"),
            (-108868734838530.125, "-108868734838530.12"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, expected) in cases {
            assert_eq!(python_float_repr(x), expected, "repr of {x:e}");
        }
    }

    #[test]
    fn strip_uses_python_whitespace() {
        // U+001F is whitespace for Python's str.strip(), not for Rust's trim().
        assert_eq!(
            output_hash_of_text("\u{1f} {} \u{a0}"),
            output_hash_of_text("{}")
        );
        assert_ne!(output_hash_of_text("\u{200b}{}"), output_hash_of_text("{}"));
    }

    #[test]
    fn only_ascii_space_runs_collapse() {
        assert_eq!(output_hash_of_text("a    b"), output_hash_of_text("a b"));
        assert_ne!(output_hash_of_text("a\t\tb"), output_hash_of_text("a\tb"));
    }

    #[test]
    fn layouts() {
        let value = serde_json::json!({"b": [1, {"x": []}], "a": {}, "c": "é\u{1}"});
        assert_eq!(
            payload_text(&value),
            "{\"a\": {}, \"b\": [1, {\"x\": []}], \"c\": \"é\\u0001\"}"
        );
        assert_eq!(
            compact_text(&value),
            "{\"a\":{},\"b\":[1,{\"x\":[]}],\"c\":\"é\\u0001\"}"
        );
        assert_eq!(
            indented_text(&value),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"x\": []\n    }\n  ],\n  \"c\": \"é\\u0001\"\n}"
        );
        assert_eq!(indented_text(&serde_json::json!(2.0)), "2.0");
    }
}
