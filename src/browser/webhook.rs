//! The wasm side of the npm `Webhook` verifier (`batchhook/webhook`); `exports` hands it to
//! JavaScript.
//!
//! Kept deliberately narrow so the verifier-only wasm stays small: no `JsValue`s, no serde, no
//! `core::fmt`, and no error messages. JavaScript (`src/browser/js/webhook.js`) asks
//! once for the header names the scheme reads ([`WebhookCore::header_names`]) and then passes
//! their values as one string, one per line, with a mask of which were sent (`SlotHeaders`;
//! header values cannot contain newlines). Calls return an error number, 0 on success; on
//! failure [`WebhookCore::error_detail`] and [`WebhookCore::error_text`] give the error's
//! numbers and texts, and `webhook.js` writes the same sentence as
//! [`SignatureError::message`] (`tests/fixtures/signature/messages.json` pins both to each
//! other). JSON parsing of the payload happens in JS.

use crate::signature::{
    Base64Problem, Headers, Pending, Scheme, Secret, SecretProblem, SignatureError, Verified,
    Verifier,
};

/// `add_secret_text` rule: npm `standardwebhooks`' base64 rule (0 is the scheme's own rule).
const RULE_BASE64: u8 = 1;

/// One configured verifier/signer with the outcome of its last call.
pub struct WebhookCore {
    /// The secrets as added, for their key bytes (`key_bytes`).
    secrets: Vec<Secret>,
    /// Given each secret as it is added; used only once there is one.
    verifier: Verifier,
    /// The last call's error; `None` after a success.
    error: Option<SignatureError>,
    verified: Option<Verified>,
    pending: Option<Pending>,
}

/// The values of the scheme's [`Scheme::header_names`], in that order and one per line, with
/// bit `i` of `present` set when the `i`-th header was sent. JS asks for the names once and
/// then passes values only: less text to copy into wasm per call, and a lookup is a slot
/// number rather than a search through names.
struct SlotHeaders<'a> {
    names: &'static [&'static str],
    values: &'a str,
    present: u32,
}

impl Headers for SlotHeaders<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        // The parsers ask with the very constants `Scheme::header_names` lists (one copy of
        // each literal in the binary), so comparing addresses finds the slot without a
        // byte-wise comparison of names; the comparison by text keeps any other caller right.
        let slot = (self.names.iter())
            .position(|n| core::ptr::eq(*n, name))
            .or_else(|| self.names.iter().position(|n| *n == name))?;
        if (self.present >> slot) & 1 == 0 {
            return None;
        }
        // Byte-wise rather than `str::split`, which would link a char searcher into the wasm.
        let line_end = |line: &str| line.bytes().position(|b| b == b'\n');
        let mut rest = self.values;
        for _ in 0..slot {
            rest = rest.get(line_end(rest)? + 1..)?;
        }
        rest.get(..line_end(rest).unwrap_or(rest.len()))
    }
}

impl WebhookCore {
    /// A core for scheme 0 (Standard Webhooks), 1 (Stripe) or 2 (GitHub) with a timestamp
    /// tolerance in seconds (both directions); unknown scheme numbers fall back to Standard
    /// Webhooks (the JS wrapper only passes these three).
    pub fn new(scheme: u8, tolerance_secs: f64) -> WebhookCore {
        let scheme = match scheme {
            1 => Scheme::Stripe,
            2 => Scheme::GitHub,
            _ => Scheme::StandardWebhooks,
        };
        WebhookCore {
            secrets: Vec::new(),
            // Saturating: NaN and negatives become 0, huge values u64::MAX.
            verifier: Verifier::without_secrets(scheme, tolerance_secs as u64),
            error: None,
            verified: None,
            pending: None,
        }
    }

    /// Adds a secret given as text (rule 0: the scheme's rule, see `Secret::parse`; 1: npm
    /// `standardwebhooks`' base64 rule). Returns the error number (0: added).
    pub fn add_secret_text(&mut self, rule: u8, secret: &str) -> u32 {
        let parsed = if rule == RULE_BASE64 {
            Secret::from_base64(secret)
        } else {
            Secret::parse(self.verifier.scheme(), secret)
        };
        self.add(parsed)
    }

    /// Adds raw key bytes. Returns the error number (0: added).
    pub fn add_secret_bytes(&mut self, secret: &[u8]) -> u32 {
        self.add(Secret::from_bytes(secret))
    }

    /// The header names the scheme reads: the slots of `values` in `verify` and `prepare`.
    pub fn header_names(&self) -> &'static [&'static str] {
        self.verifier.scheme().header_names()
    }

    /// Verifies a body (JS encodes a string body as UTF-8) under header `values` (see
    /// `SlotHeaders`). Returns the error number (0: verified).
    pub fn verify(&mut self, values: &str, present: u32, body: &[u8], now_secs: f64) -> u32 {
        let headers = self.slots(values, present);
        let outcome = self
            .verifier()
            .and_then(|v| v.verify(&headers, body, now_secs as i64));
        self.record(outcome.map(Some))
    }

    /// The signature header value for a body (`v1,…`, `t=…,v1=…` or `sha256=…`); `None`
    /// (with the error recorded) when no secret is configured. JS encodes string bodies.
    pub fn sign(&mut self, id: &str, timestamp_secs: f64, body: &[u8]) -> Option<Vec<u8>> {
        match self.verifier() {
            Ok(v) => Some(v.signature_bytes(id, timestamp_secs as i64, body)),
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }

    /// Starts a verification whose HMACs JS computes natively (`node:crypto`, WebCrypto):
    /// returns the bytes signed before the body, or `None` with the error recorded.
    pub fn prepare(&mut self, values: &str, present: u32, now_secs: f64) -> Option<&[u8]> {
        let headers = self.slots(values, present);
        match self
            .verifier()
            .and_then(|v| v.prepare(&headers, now_secs as i64))
        {
            Ok(pending) => Some(self.pending.insert(pending).signed_prefix()),
            Err(e) => {
                self.record(Err(e));
                None
            }
        }
    }

    /// Finishes the prepared verification with one 32-byte MAC per secret, concatenated in
    /// the order the secrets were added. Returns the error number (0: verified).
    pub fn finish(&mut self, macs: &[u8]) -> u32 {
        let outcome = match self.pending.take() {
            Some(pending) => pending.finish_concatenated(macs),
            None => Err(SignatureError::NoMatchingSignature),
        };
        self.record(outcome.map(Some))
    }

    /// The key bytes of secret `index`, for the JS side's native HMAC (the JS caller handed
    /// the secret in, so nothing new is exposed).
    pub fn key_bytes(&self, index: u32) -> Option<&[u8]> {
        self.secrets.get(index as usize).map(Secret::key_bytes)
    }

    /// The number of the last error (0 when the last call succeeded); see `describe`.
    pub fn error_number(&self) -> u32 {
        self.error.as_ref().map_or(0, |e| describe(e).0)
    }

    /// Detail `index` (0–3) of the last error; see `describe` for what each holds.
    pub fn error_detail(&self, index: u32) -> u64 {
        let details = self.error.as_ref().map_or([0; 4], |e| describe(e).1);
        details.get(index as usize).copied().unwrap_or(0)
    }

    /// Text `index` of the last error: the header name (0) of a header error and the
    /// expected form (1) of a malformed header; `None` for any other.
    pub fn error_text(&self, index: u32) -> Option<&'static str> {
        match (self.error.as_ref()?, index) {
            (
                SignatureError::MissingHeader { header }
                | SignatureError::MalformedHeader { header, .. }
                | SignatureError::NoSupportedSignature { header },
                0,
            ) => Some(header),
            (SignatureError::MalformedHeader { expected, .. }, 1) => Some(expected),
            _ => None,
        }
    }

    /// The delivery id of the last successful verification, if the scheme carries one.
    pub fn verified_id(&self) -> Option<&str> {
        self.verified.as_ref().and_then(|v| v.id.as_deref())
    }

    /// The signed timestamp of the last successful verification, or NaN.
    pub fn verified_timestamp(&self) -> f64 {
        self.verified
            .as_ref()
            .and_then(|v| v.timestamp)
            .map_or(f64::NAN, |t| t as f64)
    }
}

/// An error as its number and up to four details, for `webhook.js` (texts: see
/// [`WebhookCore::error_text`]):
///
/// | number | error | details |
/// |---|---|---|
/// | 1 | `missing_header` | — (text: header) |
/// | 2 | `malformed_header` | — (texts: header, expected form) |
/// | 3 | `timestamp_too_old` | age, tolerance |
/// | 4 | `timestamp_too_new` | seconds ahead, tolerance |
/// | 5 | `no_supported_signature` | — (text: header) |
/// | 6 | `no_matching_signature` | — |
/// | 7 | `invalid_secret` | position, problem number, offset or key length, minimum length |
/// | 8 | `no_secrets` | — |
///
/// Problem numbers: 0 empty, 1 surrounding whitespace, 2 pasted signature, 3–7 base64
/// (invalid character at offset, URL-safe alphabet at offset, bad padding, bad length,
/// non-canonical), 8 too short (length, minimum).
fn describe(e: &SignatureError) -> (u32, [u64; 4]) {
    match e {
        SignatureError::MissingHeader { .. } => (1, [0; 4]),
        SignatureError::MalformedHeader { .. } => (2, [0; 4]),
        SignatureError::NoSupportedSignature { .. } => (5, [0; 4]),
        SignatureError::TimestampTooOld {
            age_secs,
            tolerance_secs,
        } => (3, [*age_secs, *tolerance_secs, 0, 0]),
        SignatureError::TimestampTooNew {
            ahead_secs,
            tolerance_secs,
        } => (4, [*ahead_secs, *tolerance_secs, 0, 0]),
        SignatureError::NoMatchingSignature => (6, [0; 4]),
        SignatureError::InvalidSecret { position, problem } => {
            let (number, at, min) = match problem {
                SecretProblem::Empty => (0, 0, 0),
                SecretProblem::SurroundingWhitespace => (1, 0, 0),
                SecretProblem::PastedSignature => (2, 0, 0),
                SecretProblem::Base64(Base64Problem::InvalidCharacter(at)) => (3, *at, 0),
                SecretProblem::Base64(Base64Problem::UrlSafeAlphabet(at)) => (4, *at, 0),
                SecretProblem::Base64(Base64Problem::BadPadding) => (5, 0, 0),
                SecretProblem::Base64(Base64Problem::BadLength) => (6, 0, 0),
                SecretProblem::Base64(Base64Problem::NonCanonical) => (7, 0, 0),
                SecretProblem::TooShort { len, min } => (8, *len, *min),
            };
            (7, [*position as u64, number, at as u64, min as u64])
        }
        SignatureError::NoSecrets => (8, [0; 4]),
    }
}

impl WebhookCore {
    fn add(&mut self, parsed: Result<Secret, SignatureError>) -> u32 {
        let outcome = match parsed {
            Ok(secret) => {
                self.verifier.add_secret(&secret);
                self.secrets.push(secret);
                Ok(None)
            }
            Err(mut e) => {
                if let SignatureError::InvalidSecret { position, .. } = &mut e {
                    *position = self.secrets.len() + 1;
                }
                Err(e)
            }
        };
        self.record(outcome)
    }

    fn slots<'a>(&self, values: &'a str, present: u32) -> SlotHeaders<'a> {
        SlotHeaders {
            names: self.header_names(),
            values,
            present,
        }
    }

    /// The verifier over the secrets added so far (`NoSecrets` before the first).
    fn verifier(&self) -> Result<&Verifier, SignatureError> {
        if self.secrets.is_empty() {
            return Err(SignatureError::NoSecrets);
        }
        Ok(&self.verifier)
    }

    /// Keeps a success's facts (`None` for a call that verifies nothing) or the error, and
    /// returns the error number. Not inlined: one copy serves every call that records.
    #[inline(never)]
    fn record(&mut self, outcome: Result<Option<Verified>, SignatureError>) -> u32 {
        (self.verified, self.error) = match outcome {
            Ok(verified) => (verified, None),
            Err(e) => (None, Some(e)),
        };
        self.error_number()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// webhook-id, webhook-timestamp and webhook-signature: slots 0–2 (bits 0b111).
    const HEADERS: &str =
        "msg_p5jXN8AQM9LWM0D4loKWxJek\n1614265330\nv1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const SENT: u32 = 0b111;

    #[wasm_bindgen_test(unsupported = test)]
    fn verifies_the_reference_vector_through_line_headers() {
        let mut core = WebhookCore::new(0, 300.0);
        assert_eq!(core.add_secret_text(0, SECRET), 0);
        assert_eq!(
            core.verify(HEADERS, SENT, br#"{"test": 2432232314}"#, 1_614_265_330.0),
            0
        );
        assert_eq!(core.verified_id(), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
        assert_eq!(core.verified_timestamp(), 1_614_265_330.0);
        assert_eq!(core.verify(HEADERS, SENT, b"{}", 1_614_265_330.0), 6);
        assert_eq!(core.error_number(), 6);
        assert!(core.verified_id().is_none());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn records_the_position_and_problem_of_a_bad_second_secret() {
        let mut core = WebhookCore::new(0, 300.0);
        assert_eq!(core.add_secret_text(RULE_BASE64, &SECRET[6..]), 0);
        assert_eq!(core.add_secret_text(RULE_BASE64, "whsec_c2hvcnQ="), 7);
        let details: Vec<u64> = (0..4).map(|i| core.error_detail(i)).collect();
        assert_eq!(details, [2, 8, 5, 24]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn finishes_a_prepared_verification_with_external_macs() {
        let mut core = WebhookCore::new(0, 300.0);
        assert_eq!(core.add_secret_text(0, SECRET), 0);
        assert!(core.key_bytes(1).is_none());
        let prefix = core
            .prepare(HEADERS, SENT, 1_614_265_330.0)
            .unwrap()
            .to_vec();
        assert_eq!(prefix, b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.");
        use hmac::Mac;
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(core.key_bytes(0).unwrap()).unwrap();
        mac.update(&prefix);
        mac.update(br#"{"test": 2432232314}"#);
        assert_eq!(core.finish(&mac.finalize().into_bytes()), 0);
        assert_eq!(core.verified_timestamp(), 1_614_265_330.0);
        assert_eq!(core.finish(&[0; 32]), 6);
        assert!(core.prepare(HEADERS, SENT, 0.0).is_none());
        assert_eq!(core.error_number(), 4);
        assert_eq!(
            [core.error_detail(0), core.error_detail(1)],
            [1_614_265_330, 300]
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_to_verify_or_sign_without_secrets() {
        let mut core = WebhookCore::new(1, 300.0);
        assert_eq!(core.verify("", 0, b"", 0.0), 8);
        assert_eq!(core.sign("", 0.0, b""), None);
        assert_eq!(core.error_number(), 8);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_header_values_by_slot_and_tells_absent_from_empty() {
        let names = Scheme::StandardWebhooks.header_names();
        let slots = |values, present| SlotHeaders {
            names,
            values,
            present,
        };
        let h = slots("id\n\nsig\n\n\nalias-sig", 0b100101);
        assert_eq!(h.header("webhook-id"), Some("id"));
        assert_eq!(h.header("webhook-timestamp"), None);
        assert_eq!(h.header("webhook-signature"), Some("sig"));
        assert_eq!(h.header("svix-signature"), Some("alias-sig"));
        // A name that is not one of the listed constants themselves is found by its text.
        let copied = String::from_utf8(b"webhook-signature".to_vec()).unwrap();
        assert_eq!(h.header(&copied), Some("sig"));
        assert_eq!(h.header("x-unknown"), None);
        assert_eq!(slots("\n", 0b11).header("webhook-timestamp"), Some(""));
        let core = WebhookCore::new(0, 300.0);
        assert_eq!(core.header_names(), names);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn applies_the_configured_tolerance() {
        let mut core = WebhookCore::new(0, 10.0);
        assert_eq!(
            core.add_secret_bytes(b"0123456789abcdef0123456789abcdef"),
            0
        );
        let sig = String::from_utf8(core.sign("m", 1000.0, b"x").unwrap()).unwrap();
        let headers = format!("m\n1000\n{sig}");
        assert_eq!(core.verify(&headers, SENT, b"x", 1011.0), 3);
        assert_eq!([core.error_detail(0), core.error_detail(1)], [11, 10]);
        assert_eq!(core.verify(&headers, SENT, b"x", 1010.0), 0);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn names_the_header_of_every_header_error_the_schemes_report() {
        // Each scheme's header errors, produced by the core itself, must hand JS the header's
        // name (and a malformed one's expected form) for its message.
        let cases: [(u8, &str, u32, u32); 8] = [
            (0, "", 0, 1),
            (0, "\n1\nv1,x", SENT, 2),
            (0, "a\nx\nv1,x", SENT, 2),
            (0, "a\n1\n ", SENT, 2),
            (0, "a\n1\nv2,x", SENT, 5),
            (1, "", 0, 1),
            (2, "sha1=00", 1, 2),
            (2, "\nsha1=00", 0b10, 5),
        ];
        for (scheme, headers, present, number) in cases {
            let mut core = WebhookCore::new(scheme, 300.0);
            assert_eq!(core.add_secret_bytes(&[7; 32]), 0);
            assert_eq!(
                core.verify(headers, present, b"", 1.0),
                number,
                "{headers:?}"
            );
            let header = core.error_text(0).unwrap();
            assert!(core.header_names().contains(&header), "{headers:?}");
            assert_eq!(core.error_text(1).is_some(), number == 2, "{headers:?}");
            assert_eq!(core.error_text(2), None);
        }
        assert_eq!(WebhookCore::new(0, 300.0).verify("", 0, b"", 1.0), 8);
    }
}
