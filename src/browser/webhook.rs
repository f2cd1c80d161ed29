//! The wasm side of the npm `Webhook` verifier (`batchhook/webhook`).
//!
//! Kept deliberately narrow so the verifier-only wasm stays a few kilobytes: no `JsValue`
//! errors, no serde, no `core::fmt`. JavaScript (`src/browser/js/webhook.js`) picks the
//! relevant headers, passes them as one `name\nvalue\n…` string (header values cannot contain
//! newlines), reads the outcome as a status number, and on failure asks for the error's code
//! and message to build its own `Error` subclass. JSON parsing of the payload happens in JS.

use wasm_bindgen::prelude::wasm_bindgen;

use crate::signature::{Headers, Pending, Scheme, Secret, SignatureError, Signer, Verifier};

/// `add_secret_text` rule: npm `standardwebhooks`' base64 rule (0 is the scheme's own rule).
const RULE_BASE64: u8 = 1;

/// One configured verifier/signer with the outcome of its last call.
#[wasm_bindgen]
pub struct WebhookCore {
    scheme: Scheme,
    secrets: Vec<Secret>,
    verifier: Option<Verifier>,
    signer: Option<Signer>,
    tolerance_secs: u64,
    error: Option<SignatureError>,
    verified_id: Option<String>,
    verified_timestamp: Option<i64>,
    pending: Option<Pending>,
}

/// Headers as `name\nvalue\nname\nvalue…`, names already lowercase.
struct LineHeaders<'a>(&'a str);

impl Headers for LineHeaders<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        // Byte-wise rather than `str::split`, which would link a char searcher into the wasm.
        let text = self.0;
        let mut start = 0;
        let mut name_end = None;
        for (i, &b) in text.as_bytes().iter().chain(b"\n").enumerate() {
            if b != b'\n' {
                continue;
            }
            match name_end.take() {
                None => name_end = Some(i),
                Some(end) => {
                    if text[start..end].eq_ignore_ascii_case(name) {
                        return Some(&text[end + 1..i]);
                    }
                    start = i + 1;
                }
            }
        }
        None
    }
}

#[wasm_bindgen]
impl WebhookCore {
    /// A core for scheme 0 (Standard Webhooks), 1 (Stripe) or 2 (GitHub); unknown numbers
    /// fall back to Standard Webhooks (the JS wrapper only passes these three).
    #[wasm_bindgen(constructor)]
    pub fn new(scheme: u8) -> WebhookCore {
        WebhookCore {
            scheme: match scheme {
                1 => Scheme::Stripe,
                2 => Scheme::GitHub,
                _ => Scheme::StandardWebhooks,
            },
            secrets: Vec::new(),
            verifier: None,
            signer: None,
            tolerance_secs: crate::signature::DEFAULT_TOLERANCE_SECS,
            error: None,
            verified_id: None,
            verified_timestamp: None,
            pending: None,
        }
    }

    /// Adds a secret given as text (rule 0: the scheme's rule, see `Secret::parse`; 1: npm
    /// `standardwebhooks`' base64 rule). Returns false and records the error when unusable.
    pub fn add_secret_text(&mut self, rule: u8, secret: &str) -> bool {
        let parsed = if rule == RULE_BASE64 {
            Secret::from_base64(secret)
        } else {
            Secret::parse(self.scheme, secret)
        };
        self.add(parsed)
    }

    /// Adds raw key bytes. Returns false and records the error when they are unusable.
    pub fn add_secret_bytes(&mut self, secret: &[u8]) -> bool {
        self.add(Secret::from_bytes(secret))
    }

    /// Sets the timestamp tolerance in seconds (both directions).
    pub fn set_tolerance(&mut self, secs: f64) {
        self.tolerance_secs = if secs > 0.0 { secs as u64 } else { 0 };
        self.rebuild();
    }

    /// Verifies a byte body; true on success, else the error is recorded.
    pub fn verify_bytes(&mut self, headers: &str, body: &[u8], now_secs: f64) -> bool {
        self.verify(headers, body, now_secs)
    }

    /// Verifies a string body by its UTF-8 bytes; true on success, else the error is recorded.
    pub fn verify_str(&mut self, headers: &str, body: &str, now_secs: f64) -> bool {
        self.verify(headers, body.as_bytes(), now_secs)
    }

    /// The signature header value for a body (`v1,…`, `t=…,v1=…` or `sha256=…`); `None`
    /// (with the error recorded) when no secret is configured. JS encodes string bodies.
    pub fn sign(&mut self, id: &str, timestamp_secs: f64, body: &[u8]) -> Option<String> {
        match &self.signer {
            Some(s) => Some(s.signature(id, timestamp_secs as i64, body)),
            None => {
                self.error = Some(SignatureError::NoSecrets);
                None
            }
        }
    }

    /// Starts a verification whose HMACs JS computes natively (`node:crypto`, WebCrypto):
    /// returns the bytes signed before the body, or `None` with the error recorded.
    pub fn prepare(&mut self, headers: &str, now_secs: f64) -> Option<Vec<u8>> {
        let outcome = match &self.verifier {
            Some(v) => v.prepare(&LineHeaders(headers), now_secs as i64),
            None => Err(SignatureError::NoSecrets),
        };
        match outcome {
            Ok(pending) => {
                let prefix = pending.signed_prefix().to_vec();
                self.pending = Some(pending);
                Some(prefix)
            }
            Err(e) => {
                self.record(Err(e));
                None
            }
        }
    }

    /// Finishes the prepared verification with one 32-byte MAC per secret, concatenated in
    /// the order the secrets were added. True on success, else the error is recorded.
    pub fn finish(&mut self, macs: &[u8]) -> bool {
        let outcome = match self.pending.take() {
            Some(pending) => {
                let macs: Vec<[u8; 32]> = macs
                    .chunks_exact(32)
                    .filter_map(|m| <[u8; 32]>::try_from(m).ok())
                    .collect();
                pending.finish(&macs)
            }
            None => Err(SignatureError::NoMatchingSignature),
        };
        self.record(outcome)
    }

    /// The number of secrets added.
    pub fn key_count(&self) -> u32 {
        self.secrets.len() as u32
    }

    /// The key bytes of secret `index`, for the JS side's native HMAC (the JS caller handed
    /// the secret in, so nothing new is exposed).
    pub fn key_bytes(&self, index: u32) -> Option<Vec<u8>> {
        self.secrets
            .get(index as usize)
            .map(|s| s.key_bytes().to_vec())
    }

    /// The snake_case code of the last error (empty when there was none).
    pub fn error_code(&self) -> String {
        self.error
            .as_ref()
            .map_or("", SignatureError::code)
            .to_owned()
    }

    /// The message of the last error (empty when there was none).
    pub fn error_message(&self) -> String {
        self.error
            .as_ref()
            .map(SignatureError::message)
            .unwrap_or_default()
    }

    /// The delivery id of the last successful verification, if the scheme carries one.
    pub fn verified_id(&self) -> Option<String> {
        self.verified_id.clone()
    }

    /// The signed timestamp of the last successful verification, or NaN.
    pub fn verified_timestamp(&self) -> f64 {
        self.verified_timestamp.map_or(f64::NAN, |t| t as f64)
    }
}

impl WebhookCore {
    fn add(&mut self, parsed: Result<Secret, SignatureError>) -> bool {
        let position = self.secrets.len() + 1;
        match parsed {
            Ok(secret) => {
                self.secrets.push(secret);
                self.rebuild();
                true
            }
            Err(SignatureError::InvalidSecret { problem, .. }) => {
                self.error = Some(SignatureError::InvalidSecret { position, problem });
                false
            }
            Err(other) => {
                self.error = Some(other);
                false
            }
        }
    }

    fn rebuild(&mut self) {
        if self.secrets.is_empty() {
            return;
        }
        self.verifier = Verifier::new(self.scheme, self.secrets.clone())
            .ok()
            .map(|v| v.with_tolerance_secs(self.tolerance_secs));
        self.signer = Signer::new(self.scheme, self.secrets.clone()).ok();
    }

    fn verify(&mut self, headers: &str, body: &[u8], now_secs: f64) -> bool {
        let outcome = match &self.verifier {
            Some(v) => v.verify(&LineHeaders(headers), body, now_secs as i64),
            None => Err(SignatureError::NoSecrets),
        };
        self.record(outcome)
    }

    fn record(&mut self, outcome: Result<crate::signature::Verified, SignatureError>) -> bool {
        match outcome {
            Ok(verified) => {
                self.error = None;
                self.verified_id = verified.id;
                self.verified_timestamp = verified.timestamp;
                true
            }
            Err(e) => {
                self.error = Some(e);
                self.verified_id = None;
                self.verified_timestamp = None;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const HEADERS: &str = "webhook-id\nmsg_p5jXN8AQM9LWM0D4loKWxJek\nwebhook-timestamp\n1614265330\nwebhook-signature\nv1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[wasm_bindgen_test(unsupported = test)]
    fn verifies_the_reference_vector_through_line_headers() {
        let mut core = WebhookCore::new(0);
        assert!(core.add_secret_text(0, SECRET));
        assert!(core.verify_str(HEADERS, r#"{"test": 2432232314}"#, 1_614_265_330.0));
        assert_eq!(
            core.verified_id().as_deref(),
            Some("msg_p5jXN8AQM9LWM0D4loKWxJek")
        );
        assert_eq!(core.verified_timestamp(), 1_614_265_330.0);
        assert!(!core.verify_str(HEADERS, "{}", 1_614_265_330.0));
        assert_eq!(core.error_code(), "no_matching_signature");
        assert!(core.verified_id().is_none());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn records_the_position_of_a_bad_second_secret() {
        let mut core = WebhookCore::new(0);
        assert!(core.add_secret_text(RULE_BASE64, &SECRET[6..]));
        assert!(!core.add_secret_text(RULE_BASE64, "whsec_c2hvcnQ="));
        assert_eq!(core.error_code(), "invalid_secret");
        assert!(core.error_message().starts_with("secret #2"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn finishes_a_prepared_verification_with_external_macs() {
        let mut core = WebhookCore::new(0);
        assert!(core.add_secret_text(0, SECRET));
        assert_eq!(core.key_count(), 1);
        let prefix = core.prepare(HEADERS, 1_614_265_330.0).unwrap();
        assert_eq!(prefix, b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.");
        use hmac::Mac;
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(&core.key_bytes(0).unwrap()).unwrap();
        mac.update(&prefix);
        mac.update(br#"{"test": 2432232314}"#);
        assert!(core.finish(&mac.finalize().into_bytes()));
        assert_eq!(core.verified_timestamp(), 1_614_265_330.0);
        assert!(!core.finish(&[0; 32]));
        assert!(core.prepare(HEADERS, 0.0).is_none());
        assert_eq!(core.error_code(), "timestamp_too_new");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_to_verify_or_sign_without_secrets() {
        let mut core = WebhookCore::new(1);
        assert!(!core.verify_bytes("", b"", 0.0));
        assert_eq!(core.error_code(), "no_secrets");
        assert_eq!(core.sign("", 0.0, b""), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn applies_the_configured_tolerance() {
        let mut core = WebhookCore::new(0);
        assert!(core.add_secret_bytes(b"0123456789abcdef0123456789abcdef"));
        let sig = core.sign("m", 1000.0, b"x").unwrap();
        let headers = format!("webhook-id\nm\nwebhook-timestamp\n1000\nwebhook-signature\n{sig}");
        core.set_tolerance(10.0);
        assert!(!core.verify_str(&headers, "x", 1011.0));
        assert_eq!(core.error_code(), "timestamp_too_old");
        assert!(core.verify_str(&headers, "x", 1010.0));
    }
}
