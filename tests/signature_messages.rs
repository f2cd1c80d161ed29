//! Pins every kind of `SignatureError` message to `tests/fixtures/signature/messages.json`.
//!
//! The npm verifier's wasm returns error numbers and JS writes the sentences
//! (`src/browser/js/webhook.js`); `tests/signature/messages.test.mjs` checks the JS
//! sentences against the same file, so the two cannot drift apart. Header errors are produced
//! by the verifiers themselves, so a changed header name or expected form shows up here too.
//! After an intended change of a message, regenerate the file with
//! `BATCHHOOK_BLESS=1 cargo test --test signature_messages` and update the JS to match.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::signature::{
    Base64Problem, Scheme, Secret, SecretProblem, SignatureError, Verifier,
};
use serde_json::{json, Value};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/signature/messages.json"
);

fn refused(scheme: Scheme, headers: &[(&str, &str)]) -> SignatureError {
    Verifier::new(scheme, [Secret::from_bytes(&[7; 32]).unwrap()])
        .unwrap()
        .verify(headers, b"{}", 1_000)
        .unwrap_err()
}

fn secret_error(scheme: Scheme, text: &str) -> SignatureError {
    Secret::parse_list(scheme, text).unwrap_err()
}

/// One error of every variant, every secret problem and every header a scheme reports.
fn errors() -> Vec<SignatureError> {
    let std_ok = [("webhook-id", "m"), ("webhook-timestamp", "1000")];
    let with = |extra: (&'static str, &'static str)| -> Vec<(&'static str, &'static str)> {
        let mut h = std_ok.to_vec();
        h.push(extra);
        h
    };
    let spec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    vec![
        refused(Scheme::StandardWebhooks, &[]),
        refused(Scheme::StandardWebhooks, &[("webhook-id", "m")]),
        refused(Scheme::StandardWebhooks, &std_ok),
        refused(Scheme::Stripe, &[]),
        refused(Scheme::GitHub, &[]),
        refused(
            Scheme::StandardWebhooks,
            &[
                ("webhook-id", ""),
                ("webhook-timestamp", "1000"),
                ("webhook-signature", "v1,x"),
            ],
        ),
        refused(
            Scheme::StandardWebhooks,
            &[
                ("webhook-id", "m"),
                ("webhook-timestamp", "soon"),
                ("webhook-signature", "v1,x"),
            ],
        ),
        refused(Scheme::StandardWebhooks, &with(("webhook-signature", " "))),
        refused(Scheme::Stripe, &[("stripe-signature", "v1=00")]),
        refused(Scheme::GitHub, &[("x-hub-signature-256", "sha1=00")]),
        refused(
            Scheme::StandardWebhooks,
            &with(("webhook-signature", "v2,x")),
        ),
        refused(Scheme::Stripe, &[("stripe-signature", "t=1000,v0=00")]),
        refused(Scheme::GitHub, &[("x-hub-signature", "sha1=00")]),
        refused(
            Scheme::StandardWebhooks,
            &[
                ("webhook-id", "m"),
                ("webhook-timestamp", "588"),
                ("webhook-signature", "v1,x"),
            ],
        ),
        refused(
            Scheme::StandardWebhooks,
            &[
                ("webhook-id", "m"),
                ("webhook-timestamp", "1300000"),
                ("webhook-signature", "v1,x"),
            ],
        ),
        refused(
            Scheme::StandardWebhooks,
            &with(("webhook-signature", "v1,x")),
        ),
        secret_error(Scheme::StandardWebhooks, &format!("{spec} whsec_")),
        Secret::parse(Scheme::Stripe, "whsec_abc\n").unwrap_err(),
        secret_error(
            Scheme::StandardWebhooks,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
        secret_error(
            Scheme::StandardWebhooks,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!",
        ),
        secret_error(
            Scheme::StandardWebhooks,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-",
        ),
        secret_error(Scheme::StandardWebhooks, "whsec_Zg="),
        secret_error(Scheme::StandardWebhooks, "whsec_Zm9vY"),
        secret_error(Scheme::StandardWebhooks, "whsec_Zh=="),
        secret_error(Scheme::GitHub, "short-secret"),
        SignatureError::NoSecrets,
    ]
}

/// The error's fields under the names `webhook.js` takes.
fn fields(e: &SignatureError) -> Value {
    match e {
        SignatureError::MissingHeader { header }
        | SignatureError::NoSupportedSignature { header } => {
            json!({ "header": header })
        }
        SignatureError::MalformedHeader { header, expected } => {
            json!({ "header": header, "expected": expected })
        }
        SignatureError::TimestampTooOld {
            age_secs,
            tolerance_secs,
        } => json!({ "age_secs": age_secs, "tolerance_secs": tolerance_secs }),
        SignatureError::TimestampTooNew {
            ahead_secs,
            tolerance_secs,
        } => json!({ "ahead_secs": ahead_secs, "tolerance_secs": tolerance_secs }),
        SignatureError::InvalidSecret { position, problem } => {
            let (name, extra) = match problem {
                SecretProblem::Empty => ("empty", json!({})),
                SecretProblem::SurroundingWhitespace => ("surrounding_whitespace", json!({})),
                SecretProblem::PastedSignature => ("pasted_signature", json!({})),
                SecretProblem::Base64(Base64Problem::InvalidCharacter(at)) => {
                    ("base64_invalid_character", json!({ "at": at }))
                }
                SecretProblem::Base64(Base64Problem::UrlSafeAlphabet(at)) => {
                    ("base64_url_safe_alphabet", json!({ "at": at }))
                }
                SecretProblem::Base64(Base64Problem::BadPadding) => {
                    ("base64_bad_padding", json!({}))
                }
                SecretProblem::Base64(Base64Problem::BadLength) => ("base64_bad_length", json!({})),
                SecretProblem::Base64(Base64Problem::NonCanonical) => {
                    ("base64_non_canonical", json!({}))
                }
                SecretProblem::TooShort { len, min } => {
                    ("too_short", json!({ "len": len, "min": min }))
                }
                other => panic!("secret problem {other:?} has no name for the JS messages yet"),
            };
            let mut f = json!({ "position": position, "problem": name });
            f.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            f
        }
        SignatureError::NoMatchingSignature | SignatureError::NoSecrets => json!({}),
        other => panic!("error {other:?} has no fields for the JS messages yet"),
    }
}

#[test]
fn every_error_message_matches_the_fixture_the_js_messages_are_checked_against() {
    let cases: Vec<Value> = errors()
        .iter()
        .map(|e| json!({ "code": e.code(), "fields": fields(e), "message": e.message() }))
        .collect();
    let text = serde_json::to_string_pretty(&cases).unwrap() + "\n";
    if std::env::var_os("BATCHHOOK_BLESS").is_some() {
        std::fs::write(FIXTURE, &text).unwrap();
    }
    let pinned = std::fs::read_to_string(FIXTURE).unwrap_or_default();
    assert!(
        pinned == text,
        "{FIXTURE} is out of date (regenerate with BATCHHOOK_BLESS=1 and update webhook.js):\n{text}"
    );
}

#[test]
fn the_fixture_covers_every_error_code() {
    let mut codes: Vec<&str> = errors().iter().map(SignatureError::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(
        codes,
        [
            "invalid_secret",
            "malformed_header",
            "missing_header",
            "no_matching_signature",
            "no_secrets",
            "no_supported_signature",
            "timestamp_too_new",
            "timestamp_too_old"
        ]
    );
}
