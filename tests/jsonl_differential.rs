//! The hand-written row scanner against serde_json: for generated rows (valid, subtly broken,
//! or random bytes) the validator must accept exactly what serde_json accepts as UTF-8 JSON and
//! flag exactly the rows a `serde_json::Value`-based reference validator flags.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::jsonl::validate;
use proptest::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

const EP: &str = "/v1/chat/completions";

/// Per line: how many problems the reference finds (0 = valid row); blank lines skipped.
fn reference(text: &[u8]) -> BTreeMap<u64, u64> {
    let mut out = BTreeMap::new();
    let mut seen = HashSet::new();
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            continue;
        }
        let parsed = std::str::from_utf8(line)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(t).ok());
        let problems = match parsed {
            None => 1,
            Some(Value::Object(o)) => {
                let mut n = 0;
                match o.get("custom_id") {
                    Some(Value::String(id)) if !id.is_empty() => {
                        n += u64::from(!seen.insert(id.clone()))
                    }
                    _ => n += 1,
                }
                n += u64::from(o.get("method") != Some(&Value::String("POST".into())));
                n += u64::from(o.get("url") != Some(&Value::String(EP.into())));
                n += match o.get("body") {
                    Some(Value::Object(b)) => u64::from(
                        !matches!(b.get("model"), Some(Value::String(m)) if !m.is_empty()),
                    ),
                    _ => 1,
                };
                n
            }
            Some(_) => 1,
        };
        out.insert(i as u64 + 1, problems);
    }
    out
}

fn ours(text: &[u8]) -> BTreeMap<u64, u64> {
    let report = validate(text, EP);
    let mut out = BTreeMap::new();
    for e in &report.errors {
        *out.entry(e.row).or_insert(0) += 1;
    }
    out
}

fn fragment() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\t",
        "\"",
        "\\",
        "\\n",
        "\\u00e9",
        "\\ud83d\\ude00",
        "\\x",
        "\"custom_id\"",
        "\"method\"",
        "\"url\"",
        "\"body\"",
        "\"model\"",
        "\"POST\"",
        "\"/v1/chat/completions\"",
        "\"a\"",
        "\"b\"",
        "\"m\"",
        "0",
        "-1",
        "1.5e3",
        "01",
        "1.",
        "-",
        "true",
        "false",
        "null",
        "nul",
        "é",
        "😀",
        "\u{1}",
    ])
    .prop_map(str::to_owned)
}

fn good_row() -> impl Strategy<Value = String> {
    ("[a-d]{1,2}", "[ -~é😀]{0,20}", any::<bool>()).prop_map(|(id, text, extra)| {
        let mut body =
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": text}]});
        if extra {
            body["temperature"] = serde_json::json!(0.5);
        }
        serde_json::json!({"custom_id": id, "method": "POST", "url": EP, "body": body}).to_string()
    })
}

/// A good row whose `temperature` is an odd token, or whose content holds odd raw bytes.
fn odd_value() -> impl Strategy<Value = Vec<u8>> {
    let token = prop::sample::select(vec![
        "01",
        "1.",
        "-",
        "1e",
        "1e+",
        "-0",
        "0.5",
        "1E5",
        "-0.0e-7",
        "tru",
        "nul",
        "falsey",
        "1.5.2",
        "+1",
        ".5",
        "[]",
        "[1,]",
        "{}",
        "{\"a\":}",
        "\"\\u00\"",
        "\"\\/\"",
        "[[[]]]",
    ]);
    let unit: Vec<&'static [u8]> = vec![
        b"\\",
        b"\"",
        b"\x1f",
        b"\x7f",
        b"a",
        b"\\n",
        b"\\u00e9",
        b"\\q",
        b"\xc3\xa9",
        b"\xf0\x9f\x98\x80",
        b"\xed\x9f\xbf",
        b"\xee\x80\x80",
        b"\xed\xa0\x80",
        b"\xe0\x80\x80",
        b"\xc0\xaf",
        b"\xf4\x90\x80\x80",
        b"\xf8\x88\x80\x80\x80",
        b"\xc3",
        b"\xe2\x82",
        b"\xf0\x9f\x98",
        b"\xf0\x9f",
        b"\x80",
        b"\xff",
    ];
    let content = prop::collection::vec(prop::sample::select(unit), 0..10).prop_map(|u| u.concat());
    prop_oneof![
        token.prop_map(|t| format!(r#"{{"custom_id":"x","method":"POST","url":"{EP}","body":{{"model":"m","temperature":{t}}}}}"#).into_bytes()),
        content.prop_map(|c| {
            let mut row = format!(r#"{{"custom_id":"y","method":"POST","url":"{EP}","body":{{"model":"m","content":""#).into_bytes();
            row.extend(c);
            row.extend_from_slice(b"\"}}");
            row
        }),
    ]
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => odd_value(),
        3 => good_row().prop_map(String::into_bytes),
        3 => prop::collection::vec(fragment(), 0..24).prop_map(|f| f.concat().into_bytes()),
        2 => (good_row(), any::<prop::sample::Index>(), fragment()).prop_map(|(row, at, frag)| {
            let mut cut = at.index(row.len() + 1);
            while !row.is_char_boundary(cut) { cut -= 1; }
            format!("{}{}{}", &row[..cut], frag, &row[cut..]).into_bytes()
        }),
        1 => prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..40),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn flags_exactly_the_rows_a_serde_json_reference_flags(lines in prop::collection::vec(line(), 1..8)) {
        let text = lines.join(&b'\n');
        let expected: BTreeMap<u64, u64> = reference(&text).into_iter().filter(|(_, n)| *n > 0).collect();
        prop_assert_eq!(ours(&text), expected, "input {:?}", String::from_utf8_lossy(&text));
    }
}
