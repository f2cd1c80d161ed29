//! Signature checks for the intake: the core's [`Verifier`], with the HMAC (and the body's
//! SHA-256) computed by WebCrypto for large bodies.
//!
//! The core splits a verification in two ([`Verifier::prepare`] parses the headers and checks
//! the timestamp, [`Pending::finish`](crate::signature::Pending::finish) compares MACs in
//! constant time), so only the hashing moves to `crypto.subtle`; every decision stays the
//! core's. Parsed secrets and imported `CryptoKey`s are kept per isolate, keyed by the scheme
//! and the configured secret set, so neither a delivery nor a rotation re-imports keys more
//! than once.

use crate::signature::{Headers, Scheme, Secret, SignatureError, Verified, Verifier};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

/// Bodies of at least this many bytes are hashed by WebCrypto, smaller ones in wasm.
///
/// Measured in workerd with `tests/bench/verifier.bench.mjs` (wasm verifier vs WebCrypto in
/// the same isolate): WebCrypto's HMAC-SHA256 took 0.56× the wasm time at 2 KB and 0.15× at
/// 64 KB and broke even at about 1 KB; below that the promise round trip costs more than the
/// hashing it saves (wasm is ahead at 256 B). The `webcrypto` worker test pins the boundary.
pub const NATIVE_HASH_MIN_BYTES: usize = 1024;

/// How many (scheme, secret set) key rings an isolate keeps; more only after reconfiguration.
const KEYRINGS_KEPT: usize = 4;

/// A verified delivery: what the signature established and the body's SHA-256.
pub struct Checked {
    /// The delivery id and signed time.
    pub verified: Verified,
    /// SHA-256 of the raw body.
    pub body_sha256: [u8; 32],
}

/// Which engine computed a delivery's HMACs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashedBy {
    /// The core's HMAC, compiled to wasm.
    Wasm,
    /// `crypto.subtle`.
    WebCrypto,
    /// Neither: the headers were refused before any hashing (a large body only; small
    /// bodies go through the core's one-step `verify`, reported as `Wasm`).
    Nothing,
}

impl HashedBy {
    /// `wasm`, `webcrypto` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashedBy::Wasm => "wasm",
            HashedBy::WebCrypto => "webcrypto",
            HashedBy::Nothing => "none",
        }
    }
}

/// One scheme's parsed secrets, the core verifier over them, and (once a large body needed
/// them) the same secrets imported as WebCrypto HMAC keys.
pub struct Keyring {
    verifier: Verifier,
    secrets: Vec<Secret>,
    crypto_keys: RefCell<Option<Rc<Vec<CryptoKey>>>>,
}

thread_local! {
    static KEYRINGS: RefCell<Vec<(Scheme, String, Rc<Keyring>)>> = const { RefCell::new(Vec::new()) };
}

/// The key ring for `scheme` and the configured `secrets` text, parsed once per isolate.
pub fn keyring(scheme: Scheme, secrets: &str) -> Result<Rc<Keyring>, SignatureError> {
    let cached = KEYRINGS.with(|rings| {
        rings
            .borrow()
            .iter()
            .find(|(s, text, _)| *s == scheme && text == secrets)
            .map(|(_, _, ring)| ring.clone())
    });
    if let Some(ring) = cached {
        return Ok(ring);
    }
    let parsed = Secret::parse_list(scheme, secrets)?;
    let ring = Rc::new(Keyring {
        verifier: Verifier::new(scheme, parsed.clone())?,
        secrets: parsed,
        crypto_keys: RefCell::new(None),
    });
    KEYRINGS.with(|rings| {
        let mut rings = rings.borrow_mut();
        if rings.len() >= KEYRINGS_KEPT {
            rings.remove(0);
        }
        rings.push((scheme, secrets.to_owned(), ring.clone()));
    });
    Ok(ring)
}

impl Keyring {
    /// Verifies `body` under `headers` at `now_unix_secs` and hashes it: in wasm below
    /// [`NATIVE_HASH_MIN_BYTES`], with WebCrypto from there on (falling back to wasm, with a
    /// warning, should WebCrypto itself fail). Also says which engine hashed the body.
    pub async fn check<H: Headers + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now_unix_secs: i64,
    ) -> (Result<Checked, SignatureError>, HashedBy) {
        if body.len() >= NATIVE_HASH_MIN_BYTES {
            let pending = match self.verifier.prepare(headers, now_unix_secs) {
                Ok(pending) => pending,
                Err(e) => return (Err(e), HashedBy::Nothing),
            };
            match self.native(pending.signed_prefix(), body).await {
                Ok((macs, body_sha256)) => {
                    let checked = pending.finish(&macs).map(|verified| Checked {
                        verified,
                        body_sha256,
                    });
                    return (checked, HashedBy::WebCrypto);
                }
                Err(e) => worker::console_warn!(
                    "batchhook: WebCrypto HMAC failed, verifying in wasm: {e:?}"
                ),
            }
        }
        let checked = self
            .verifier
            .verify(headers, body, now_unix_secs)
            .map(|verified| Checked {
                verified,
                body_sha256: Sha256::digest(body).into(),
            });
        (checked, HashedBy::Wasm)
    }

    /// One HMAC per secret over `prefix ‖ body` and the SHA-256 of `body`, all started at once.
    async fn native(
        &self,
        prefix: &[u8],
        body: &[u8],
    ) -> Result<(Vec<[u8; 32]>, [u8; 32]), JsValue> {
        let subtle = subtle()?;
        let keys = self.crypto_keys(&subtle).await?;
        let mut signed = Vec::with_capacity(prefix.len() + body.len());
        signed.extend_from_slice(prefix);
        signed.extend_from_slice(body);
        // WebCrypto copies its input when called, so views into wasm memory are safe here.
        let jobs = js_sys::Array::new();
        jobs.push(&subtle.digest_with_str_and_u8_array("SHA-256", body)?.into());
        for key in keys.iter() {
            jobs.push(
                &subtle
                    .sign_with_str_and_u8_array("HMAC", key, &signed)?
                    .into(),
            );
        }
        let done: js_sys::Array = JsFuture::from(js_sys::Promise::all(&jobs))
            .await?
            .unchecked_into();
        let mut out = done.iter().map(|buffer| {
            let mut bytes = [0u8; 32];
            js_sys::Uint8Array::new(&buffer).copy_to(&mut bytes);
            bytes
        });
        let digest = out.next().unwrap_or_default();
        Ok((out.collect(), digest))
    }

    /// The secrets as non-extractable HMAC-SHA256 signing keys, imported on first use.
    async fn crypto_keys(&self, subtle: &SubtleCrypto) -> Result<Rc<Vec<CryptoKey>>, JsValue> {
        if let Some(keys) = self.crypto_keys.borrow().as_ref() {
            return Ok(keys.clone());
        }
        let algorithm = js_sys::Object::new();
        js_sys::Reflect::set(&algorithm, &"name".into(), &"HMAC".into())?;
        js_sys::Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into())?;
        let usages = js_sys::Array::of1(&"sign".into());
        let imports = js_sys::Array::new();
        for secret in &self.secrets {
            let raw = js_sys::Uint8Array::from(secret.key_bytes());
            imports.push(
                &subtle
                    .import_key_with_object("raw", &raw, &algorithm, false, &usages)?
                    .into(),
            );
        }
        let imported: js_sys::Array = JsFuture::from(js_sys::Promise::all(&imports))
            .await?
            .unchecked_into();
        let keys = Rc::new(imported.iter().map(JsCast::unchecked_into).collect());
        *self.crypto_keys.borrow_mut() = Some(Rc::clone(&keys));
        Ok(keys)
    }
}

/// `crypto.subtle` of the Worker's global scope.
fn subtle() -> Result<SubtleCrypto, JsValue> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())?;
    Ok(js_sys::Reflect::get(&crypto, &"subtle".into())?.unchecked_into())
}
