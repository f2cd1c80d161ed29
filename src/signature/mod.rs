//! Webhook signatures: verify and sign, sans-IO.
//!
//! Three schemes share one surface:
//!
//! | [`Scheme`] | headers | signed content | encoding |
//! |---|---|---|---|
//! | `StandardWebhooks` | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<sig> v1,<sig>…` (or `svix-*`) | `id.timestamp.body` | base64 |
//! | `Stripe` | `stripe-signature: t=<ts>,v1=<sig>[,v1=<sig>…]` | `timestamp.body` | hex |
//! | `GitHub` | `x-hub-signature-256: sha256=<sig>` (+ optional `x-github-delivery` id) | `body` | hex |
//!
//! All use HMAC-SHA256. The body is taken as raw bytes and never re-serialised; header names
//! are matched case-insensitively; signatures of other versions (`v1a`, `v0`, …) are ignored;
//! the timestamp is checked against a caller-given `now` in both directions (default
//! tolerance 300 s); MACs are compared in constant time; several secrets may be configured at
//! once so a rotation needs no downtime. How configured text becomes key bytes is spelled out
//! on [`Secret::parse`].
//!
//! The timestamp window is not replay protection: callers dedupe on [`Verified::id`]
//! (`webhook-id`, or GitHub's delivery id), which a sender's retry repeats unchanged.
//!
//! ```
//! use batchhook::signature::{Scheme, Secret, Signer, Verifier};
//! let secrets = Secret::parse_list(Scheme::StandardWebhooks, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
//! let body = br#"{"type":"batch.completed"}"#;
//! let headers = Signer::new(Scheme::StandardWebhooks, secrets.clone()).unwrap()
//!     .headers("msg_1", 1_700_000_000, body);
//! let verified = Verifier::new(Scheme::StandardWebhooks, secrets).unwrap()
//!     .verify(&headers, body, 1_700_000_010)
//!     .unwrap();
//! assert_eq!(verified.id.as_deref(), Some("msg_1"));
//! ```

mod encoding;
mod error;
mod github;
mod mac;
mod secret;
mod standard;
mod stripe;

pub use encoding::Base64Problem;
pub use error::{SecretProblem, SignatureError};
pub use secret::{Secret, MIN_SECRET_BYTES};

use encoding::{push_base64, push_decimal, push_hex};
use mac::Key;

/// The default timestamp tolerance, both into the past and into the future.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// A signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Standard Webhooks v1 (also Svix and OpenAI).
    StandardWebhooks,
    /// Stripe's `Stripe-Signature` header.
    Stripe,
    /// GitHub's `X-Hub-Signature-256` header.
    GitHub,
}

impl Scheme {
    /// Parses the names used in `WEBHOOK_SCHEMES`: `standard` (or `standardwebhooks`, `svix`),
    /// `stripe`, `github`; ASCII case-insensitive.
    pub fn from_name(name: &str) -> Option<Scheme> {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("standard") || is("standardwebhooks") || is("standard-webhooks") || is("svix") {
            Some(Scheme::StandardWebhooks)
        } else if is("stripe") {
            Some(Scheme::Stripe)
        } else if is("github") {
            Some(Scheme::GitHub)
        } else {
            None
        }
    }

    /// Every header name the scheme's verification reads, lowercase, a name before its alias.
    /// An adapter that cannot hand over a whole header map (the npm verifier, which passes
    /// strings into wasm) passes just these.
    pub fn header_names(self) -> &'static [&'static str] {
        match self {
            Scheme::StandardWebhooks => &[
                standard::ID,
                standard::TIMESTAMP,
                standard::SIGNATURE,
                standard::ID_ALIAS,
                standard::TIMESTAMP_ALIAS,
                standard::SIGNATURE_ALIAS,
            ],
            Scheme::Stripe => &[stripe::SIGNATURE],
            Scheme::GitHub => &[github::SIGNATURE, github::LEGACY_SHA1, github::DELIVERY],
        }
    }

    /// The canonical short name (`standard`, `stripe`, `github`).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::StandardWebhooks => "standard",
            Scheme::Stripe => "stripe",
            Scheme::GitHub => "github",
        }
    }
}

/// Read access to request headers. `name` is always lowercase ASCII; implementations match
/// it case-insensitively and return the first value.
///
/// Implemented for slices, arrays and vectors of `(name, value)` pairs of anything that is
/// `AsRef<str>`, so an adapter can collect its headers into a `Vec<(String, String)>`.
pub trait Headers {
    /// The value of header `name`, if present.
    fn header(&self, name: &str) -> Option<&str>;
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Headers for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The scheme that verified.
    pub scheme: Scheme,
    /// The delivery id (`webhook-id`/`svix-id`, or GitHub's `x-github-delivery`): the key to
    /// dedupe retries on. Stripe carries it in the body instead, so it is `None` there.
    pub id: Option<String>,
    /// The signed unix timestamp in seconds; `None` for GitHub, which signs none.
    pub timestamp: Option<i64>,
}

/// Verifies incoming webhooks of one scheme against one or more secrets.
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    keys: Vec<Key>,
    tolerance_secs: u64,
}

impl core::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme)
            .field("secrets", &self.keys.len())
            .field("tolerance_secs", &self.tolerance_secs)
            .finish()
    }
}

impl Verifier {
    /// A verifier accepting a signature made with any of `secrets`, with the default
    /// tolerance. Fails with [`SignatureError::NoSecrets`] when `secrets` is empty.
    pub fn new(
        scheme: Scheme,
        secrets: impl IntoIterator<Item = Secret>,
    ) -> Result<Verifier, SignatureError> {
        Ok(Verifier {
            scheme,
            keys: keys(secrets)?,
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
        })
    }

    /// Shorthand for [`Secret::parse_list`] followed by [`Verifier::new`].
    pub fn parse(scheme: Scheme, secrets: &str) -> Result<Verifier, SignatureError> {
        Verifier::new(scheme, Secret::parse_list(scheme, secrets)?)
    }

    /// A verifier without secrets yet, for an adapter that adds them one at a time
    /// ([`Verifier::add_secret`]) and refuses to verify before the first itself (with
    /// [`SignatureError::NoSecrets`]): with no secret, nothing matches.
    #[cfg(feature = "verifier")]
    pub(crate) fn without_secrets(scheme: Scheme, tolerance_secs: u64) -> Verifier {
        Verifier {
            scheme,
            keys: Vec::new(),
            tolerance_secs,
        }
    }

    /// Accepts signatures made with `secret` too.
    #[cfg(feature = "verifier")]
    pub(crate) fn add_secret(&mut self, secret: &Secret) {
        self.keys.push(secret.key());
    }

    /// The signature header value [`Signer::signature`] writes with these secrets, as bytes
    /// (an adapter that hands it on as bytes needs no `String`).
    #[cfg(feature = "verifier")]
    pub(crate) fn signature_bytes(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        sign(self.scheme, &self.keys, id, timestamp, body)
    }

    /// Sets how far the signed timestamp may lie from `now`, in either direction.
    pub fn with_tolerance_secs(mut self, secs: u64) -> Verifier {
        self.tolerance_secs = secs;
        self
    }

    /// The scheme this verifier checks.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// A signer with the same scheme and secrets (it signs with all of them).
    pub fn signer(&self) -> Signer {
        Signer {
            scheme: self.scheme,
            keys: self.keys.clone(),
        }
    }

    /// Verifies `body` (the raw request bytes) under `headers` at `now_unix_secs`.
    pub fn verify<H: Headers + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now_unix_secs: i64,
    ) -> Result<Verified, SignatureError> {
        let parsed = self.prepare(headers, now_unix_secs)?.parsed;
        // Every secret's MAC is computed, so the time taken does not tell which one matched.
        let mut matched = false;
        for key in &self.keys {
            matched |= parsed.matches(&key.mac(&[&parsed.prefix, body]));
        }
        parsed.outcome(matched)
    }

    /// The first half of a verification whose HMACs are computed elsewhere (WebCrypto in a
    /// Worker, `node:crypto` in Node: native code is faster on large bodies). Parses the
    /// headers and checks the timestamp; the caller then computes, for every secret in order,
    /// HMAC-SHA256 over [`Pending::signed_prefix`] followed by the body, using
    /// [`Secret::key_bytes`] as the key, and hands the MACs to [`Pending::finish`].
    pub fn prepare<H: Headers + ?Sized>(
        &self,
        headers: &H,
        now_unix_secs: i64,
    ) -> Result<Pending, SignatureError> {
        let window = Window {
            now: now_unix_secs,
            tolerance: self.tolerance_secs,
        };
        let parsed = match self.scheme {
            Scheme::StandardWebhooks => standard::parse(headers, window)?,
            Scheme::Stripe => stripe::parse(headers, window)?,
            Scheme::GitHub => github::parse(headers)?,
        };
        Ok(Pending {
            parsed,
            secrets: self.keys.len(),
        })
    }
}

/// A verification waiting for its HMACs; see [`Verifier::prepare`].
#[derive(Debug, Clone)]
pub struct Pending {
    parsed: Parsed,
    secrets: usize,
}

impl Pending {
    /// The bytes the sender signed before the body: `id.timestamp.` (Standard Webhooks),
    /// `timestamp.` (Stripe) or nothing (GitHub).
    pub fn signed_prefix(&self) -> &[u8] {
        &self.parsed.prefix
    }

    /// Compares `macs` (one per configured secret, in order) with the header's signatures in
    /// constant time. Fails with [`SignatureError::NoMatchingSignature`] when none matches or
    /// when the number of MACs is not the number of secrets.
    pub fn finish(self, macs: &[[u8; 32]]) -> Result<Verified, SignatureError> {
        self.finish_concatenated(macs.as_flattened())
    }

    /// [`Pending::finish`] with the MACs one after another in one slice (as an adapter
    /// receives them from JS); bytes after the last whole MAC are ignored.
    pub(crate) fn finish_concatenated(self, macs: &[u8]) -> Result<Verified, SignatureError> {
        let mut macs = macs.chunks_exact(32);
        let matched = macs.len() == self.secrets && macs.any(|mac| self.parsed.matches(mac));
        self.parsed.outcome(matched)
    }
}

/// What a scheme's header parser extracted: the signed prefix, the well-formed candidate
/// MACs of a supported version (32 bytes each, one after another), and what a success will
/// report.
#[derive(Debug, Clone)]
struct Parsed {
    prefix: Vec<u8>,
    candidates: Vec<u8>,
    verified: Verified,
}

impl Parsed {
    /// Whether `mac` is one of the candidates (each compared in constant time). Not inlined:
    /// `verify` and `finish` share one copy in the verifier wasm.
    #[inline(never)]
    fn matches(&self, mac: &[u8]) -> bool {
        self.candidates
            .chunks_exact(32)
            .any(|c| encoding::constant_time_eq(mac, c))
    }

    /// The verification's result once it is known whether a MAC matched.
    fn outcome(self, matched: bool) -> Result<Verified, SignatureError> {
        if matched {
            Ok(self.verified)
        } else {
            Err(SignatureError::NoMatchingSignature)
        }
    }
}

/// Signs outgoing webhooks (the gateway emulator, tests, the JS `Webhook.sign`).
#[derive(Clone)]
pub struct Signer {
    scheme: Scheme,
    keys: Vec<Key>,
}

impl core::fmt::Debug for Signer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme)
            .field("secrets", &self.keys.len())
            .finish()
    }
}

impl Signer {
    /// A signer that signs with every one of `secrets` (several signatures in one header
    /// during a rotation; GitHub's header holds one, so it uses the first secret only).
    pub fn new(
        scheme: Scheme,
        secrets: impl IntoIterator<Item = Secret>,
    ) -> Result<Signer, SignatureError> {
        Ok(Signer {
            scheme,
            keys: keys(secrets)?,
        })
    }

    /// The value of the scheme's signature header: `v1,<b64>[ v1,<b64>…]`,
    /// `t=<ts>,v1=<hex>[,v1=<hex>…]` or `sha256=<hex>`. `id` is only signed by Standard
    /// Webhooks and `timestamp` is not signed by GitHub.
    pub fn signature(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        ascii(sign(self.scheme, &self.keys, id, timestamp, body))
    }

    /// Every header the scheme sends, names in lowercase: Standard Webhooks' three, Stripe's
    /// `stripe-signature`, GitHub's `x-hub-signature-256` plus `x-github-delivery: <id>`.
    pub fn headers(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
        let signature = self.signature(id, timestamp, body);
        match self.scheme {
            Scheme::StandardWebhooks => vec![
                (standard::ID, id.to_owned()),
                (standard::TIMESTAMP, {
                    let mut ts = Vec::new();
                    push_signed_decimal(&mut ts, timestamp);
                    ascii(ts)
                }),
                (standard::SIGNATURE, signature),
            ],
            Scheme::Stripe => vec![(stripe::SIGNATURE, signature)],
            Scheme::GitHub => vec![
                (github::SIGNATURE, signature),
                (github::DELIVERY, id.to_owned()),
            ],
        }
    }
}

fn keys(secrets: impl IntoIterator<Item = Secret>) -> Result<Vec<Key>, SignatureError> {
    let keys: Vec<Key> = secrets.into_iter().map(|s| s.key()).collect();
    if keys.is_empty() {
        return Err(SignatureError::NoSecrets);
    }
    Ok(keys)
}

/// The signature header value of `scheme` for `keys` (at least one); see
/// [`Signer::signature`].
fn sign(scheme: Scheme, keys: &[Key], id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    // One loop for the three schemes (rather than a function each) keeps the verifier
    // wasm, which also signs, small. `prefix` is what is signed before the body.
    let mut prefix = Vec::new();
    if scheme == Scheme::StandardWebhooks {
        prefix.extend_from_slice(id.as_bytes());
        prefix.push(b'.');
    }
    if scheme != Scheme::GitHub {
        push_signed_decimal(&mut prefix, timestamp);
        prefix.push(b'.');
    }
    let mut out = Vec::new();
    let (item, keys): (&[u8], &[Key]) = match scheme {
        Scheme::StandardWebhooks => (b"v1,", keys),
        Scheme::Stripe => {
            out.extend_from_slice(b"t=");
            out.extend_from_slice(&prefix[..prefix.len() - 1]);
            (b",v1=", keys)
        }
        Scheme::GitHub => (b"sha256=", &keys[..1]),
    };
    for key in keys {
        let mac = key.mac(&[&prefix, body]);
        if scheme == Scheme::StandardWebhooks {
            if !out.is_empty() {
                out.push(b' ');
            }
            out.extend_from_slice(item);
            push_base64(&mut out, &mac);
        } else {
            out.extend_from_slice(item);
            push_hex(&mut out, &mac);
        }
    }
    out
}

/// Text the encoders wrote, which is ASCII.
fn ascii(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("the encoders write ASCII")
}

/// Appends `n` in decimal, with a `-` when negative.
fn push_signed_decimal(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_decimal(out, n.unsigned_abs());
}

/// The accepted time window around `now`.
#[derive(Clone, Copy)]
struct Window {
    now: i64,
    tolerance: u64,
}

impl Window {
    fn check(self, timestamp: i64) -> Result<(), SignatureError> {
        // `abs_diff` is exact over all of i64 (no i128 arithmetic, which is bulky in wasm).
        let offset = self.now.abs_diff(timestamp);
        if offset <= self.tolerance {
            Ok(())
        } else if self.now > timestamp {
            Err(SignatureError::TimestampTooOld {
                age_secs: offset,
                tolerance_secs: self.tolerance,
            })
        } else {
            Err(SignatureError::TimestampTooNew {
                ahead_secs: offset,
                tolerance_secs: self.tolerance,
            })
        }
    }
}

/// Parses unix seconds written as 1–18 ASCII digits (no sign, no spaces), so the value fits
/// an `i64` and the text is exactly what was signed. Not inlined: Standard Webhooks' and
/// Stripe's parsers share one copy in the verifier wasm.
#[inline(never)]
fn parse_unix_secs(text: &[u8]) -> Option<i64> {
    if text.is_empty() || text.len() > 18 {
        return None;
    }
    let mut secs = 0i64;
    for &d in text {
        if !d.is_ascii_digit() {
            return None;
        }
        secs = secs * 10 + i64::from(d - b'0');
    }
    Some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::RefCell;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// Headers that answer by `answer` and remember which names were asked for.
    struct Recording {
        answer: fn(&str) -> Option<&'static str>,
        asked: RefCell<Vec<String>>,
    }

    impl Headers for Recording {
        fn header(&self, name: &str) -> Option<&str> {
            self.asked.borrow_mut().push(name.to_owned());
            (self.answer)(name)
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn header_names_are_exactly_the_headers_a_verification_reads() {
        // No headers, every header "1", only the aliases, and a well-formed GitHub signature:
        // between them each parser gets to look up every name and alias it knows.
        let answers: [fn(&str) -> Option<&'static str>; 4] = [
            |_| None,
            |_| Some("1"),
            |name| name.starts_with("svix-").then_some("1"),
            |_| Some("sha256=0000000000000000000000000000000000000000000000000000000000000000"),
        ];
        for scheme in [Scheme::StandardWebhooks, Scheme::Stripe, Scheme::GitHub] {
            let verifier = Verifier::new(scheme, [Secret::from_bytes(&[1; 32]).unwrap()]).unwrap();
            let mut asked: Vec<String> = Vec::new();
            for answer in answers {
                let recording = Recording {
                    answer,
                    asked: RefCell::new(Vec::new()),
                };
                assert!(verifier.verify(&recording, b"", 1).is_err());
                asked.extend(recording.asked.into_inner());
            }
            asked.sort();
            asked.dedup();
            let mut listed: Vec<&str> = scheme.header_names().to_vec();
            listed.sort_unstable();
            assert_eq!(asked, listed, "{scheme:?}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn window_accepts_exactly_the_tolerance_both_ways() {
        let w = Window {
            now: 1_000,
            tolerance: 300,
        };
        assert!(w.check(700).is_ok());
        assert!(w.check(1_300).is_ok());
        assert_eq!(
            w.check(699),
            Err(SignatureError::TimestampTooOld {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert_eq!(
            w.check(1_301),
            Err(SignatureError::TimestampTooNew {
                ahead_secs: 301,
                tolerance_secs: 300
            })
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn window_does_not_overflow_at_extremes() {
        let w = Window {
            now: i64::MIN,
            tolerance: u64::MAX,
        };
        assert!(w.check(i64::MAX).is_ok());
        let w = Window {
            now: i64::MAX,
            tolerance: 0,
        };
        assert!(matches!(
            w.check(i64::MIN),
            Err(SignatureError::TimestampTooOld { .. })
        ));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn parses_only_plain_decimal_seconds() {
        assert_eq!(parse_unix_secs(b"1614265330"), Some(1_614_265_330));
        assert_eq!(parse_unix_secs(b"0"), Some(0));
        for bad in [
            "",
            "-5",
            "+5",
            " 5",
            "5 ",
            "1e9",
            "0x10",
            "1234567890123456789",
        ] {
            assert_eq!(parse_unix_secs(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn prepared_verification_accepts_externally_computed_macs() {
        let secrets = Secret::parse_list(
            Scheme::StandardWebhooks,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==",
        )
        .unwrap();
        let body = b"{}";
        let signer = Signer::new(Scheme::StandardWebhooks, [secrets[1].clone()]).unwrap();
        let headers = signer.headers("msg_9", 1_000, body);
        let verifier = Verifier::new(Scheme::StandardWebhooks, secrets.clone()).unwrap();
        let pending = verifier.prepare(&headers, 1_000).unwrap();
        assert_eq!(pending.signed_prefix(), b"msg_9.1000.");
        let macs: Vec<[u8; 32]> = secrets
            .iter()
            .map(|s| {
                use hmac::Mac;
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(s.key_bytes()).unwrap();
                mac.update(pending.signed_prefix());
                mac.update(body);
                mac.finalize().into_bytes().into()
            })
            .collect();
        assert_eq!(
            pending.clone().finish(&macs).unwrap().id.as_deref(),
            Some("msg_9")
        );
        assert_eq!(
            pending.clone().finish(&macs[..1]),
            Err(SignatureError::NoMatchingSignature)
        );
        assert_eq!(
            pending.finish(&[[0; 32], [0; 32]]),
            Err(SignatureError::NoMatchingSignature)
        );
        assert!(matches!(
            verifier.prepare(&headers, 5_000),
            Err(SignatureError::TimestampTooOld { .. })
        ));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn scheme_names_round_trip() {
        for s in [Scheme::StandardWebhooks, Scheme::Stripe, Scheme::GitHub] {
            assert_eq!(Scheme::from_name(s.name()), Some(s));
        }
        assert_eq!(Scheme::from_name("SVIX"), Some(Scheme::StandardWebhooks));
        assert_eq!(Scheme::from_name("gitlab"), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn headers_lookup_ignores_case_and_returns_first() {
        let h = vec![
            ("Webhook-ID".to_string(), "a".to_string()),
            ("webhook-id".to_string(), "b".to_string()),
        ];
        assert_eq!(h.header("webhook-id"), Some("a"));
        assert_eq!([("X", "1")].header("y"), None);
    }
}
