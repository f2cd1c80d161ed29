//! Published test vectors (tests/fixtures/signature/, origins in its README) against the
//! signature module.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::signature::{Scheme, Secret, Signer, Verifier};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/signature/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("fixture field {key} is not a string"))
}

#[test]
fn signs_the_standard_webhooks_reference_vector() {
    let doc = fixture("standard_webhooks.json");
    let v = &doc["sign"];
    let secret = Secret::parse(Scheme::StandardWebhooks, str_of(v, "secret")).unwrap();
    let signer = Signer::new(Scheme::StandardWebhooks, [secret]).unwrap();
    let signature = signer.signature(
        str_of(v, "id"),
        v["timestamp"].as_i64().unwrap(),
        str_of(v, "body").as_bytes(),
    );
    assert_eq!(signature, str_of(v, "signature"));
}

#[test]
fn every_standard_webhooks_case_has_its_expected_outcome() {
    let doc = fixture("standard_webhooks.json");
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let name = str_of(case, "name");
        let secret = match str_of(case, "secret_rule") {
            "base64" => Secret::from_base64(str_of(case, "secret")),
            _ => Secret::parse(Scheme::StandardWebhooks, str_of(case, "secret")),
        }
        .unwrap();
        let headers: Vec<(String, String)> = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().unwrap().into(),
                    pair[1].as_str().unwrap().into(),
                )
            })
            .collect();
        let outcome = Verifier::new(Scheme::StandardWebhooks, [secret])
            .unwrap()
            .verify(
                &headers,
                str_of(case, "body").as_bytes(),
                case["now"].as_i64().unwrap(),
            );
        let got = match &outcome {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        assert_eq!(got, str_of(case, "expect"), "case {name:?}: {outcome:?}");
    }
}

#[test]
fn github_documentation_example_signs_and_verifies() {
    let v = fixture("github.json");
    let secret = Secret::parse(Scheme::GitHub, str_of(&v, "secret")).unwrap();
    let body = str_of(&v, "body").as_bytes();
    let signer = Signer::new(Scheme::GitHub, [secret.clone()]).unwrap();
    assert_eq!(signer.signature("", 0, body), str_of(&v, "signature"));
    let headers = [("X-Hub-Signature-256", str_of(&v, "signature"))];
    assert!(Verifier::new(Scheme::GitHub, [secret])
        .unwrap()
        .verify(&headers, body, 0)
        .is_ok());
}
