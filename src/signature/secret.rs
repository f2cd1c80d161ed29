//! Signing secrets and the explicit rule that turns configured text into key bytes.

use super::encoding::push_base64_decoded;
use super::error::{SecretProblem, SignatureError};
use super::mac::Key;
use super::Scheme;

/// The shortest key accepted, in bytes: the Standard Webhooks specification's floor for
/// symmetric secrets (its own reference secret is exactly 24 bytes). Shorter keys are refused
/// for every scheme, so a truncated or mistyped secret fails loudly instead of becoming a
/// weak key.
pub const MIN_SECRET_BYTES: usize = 24;

const WHSEC_PREFIX: &str = "whsec_";

/// A webhook signing key. Its `Debug` output is `Secret([REDACTED])`; the bytes are only
/// reachable through [`Secret::key_bytes`], for native HMAC implementations.
#[derive(Clone)]
pub struct Secret {
    key: Vec<u8>,
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl Secret {
    /// Parses configured secret text with the rule of `scheme`:
    ///
    /// - [`Scheme::StandardWebhooks`]: `whsec_<base64>` is base64-decoded (standard alphabet,
    ///   padding optional, strictly canonical); any other text is used as its raw UTF-8 bytes
    ///   (the rule OpenAI's libraries follow).
    /// - [`Scheme::Stripe`] and [`Scheme::GitHub`]: the text's UTF-8 bytes as they are. Stripe
    ///   secrets look like `whsec_…` but Stripe uses the whole string, prefix included, as the
    ///   key, so they are never decoded.
    ///
    /// Refused for every scheme: empty text, surrounding whitespace, a pasted `v1,` signature,
    /// malformed base64, and keys shorter than [`MIN_SECRET_BYTES`].
    pub fn parse(scheme: Scheme, text: &str) -> Result<Secret, SignatureError> {
        from_text(text, scheme == Scheme::StandardWebhooks, false)
    }

    /// Parses a whitespace-separated list (the `WEBHOOK_SECRETS` form) with [`Secret::parse`].
    /// Errors name the 1-based position of the bad secret, never its content. A secret that
    /// itself contains whitespace cannot be given in this form: use [`Secret::parse`].
    pub fn parse_list(scheme: Scheme, text: &str) -> Result<Vec<Secret>, SignatureError> {
        let secrets = text
            .split_ascii_whitespace()
            .enumerate()
            .map(|(i, s)| Secret::parse(scheme, s).map_err(|e| at_position(e, i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        if secrets.is_empty() {
            return Err(SignatureError::NoSecrets);
        }
        Ok(secrets)
    }

    /// The npm `standardwebhooks` rule: base64, with an optional `whsec_` prefix, whether or
    /// not the prefix is present. Used by the JS `Webhook` class for drop-in compatibility.
    pub fn from_base64(text: &str) -> Result<Secret, SignatureError> {
        from_text(text, true, true)
    }

    /// Raw key bytes, used as they are (only the length is checked).
    // Not inlined: the three ways to add a secret in the verifier wasm share one copy.
    #[inline(never)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Secret, SignatureError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(invalid(if bytes.is_empty() {
                SecretProblem::Empty
            } else {
                SecretProblem::TooShort {
                    len: bytes.len(),
                    min: MIN_SECRET_BYTES,
                }
            }));
        }
        Ok(Secret {
            key: bytes.to_vec(),
        })
    }

    /// The key bytes, for handing to a native HMAC implementation (WebCrypto `importKey`,
    /// `node:crypto`) in the two-step [`Verifier::prepare`](super::Verifier::prepare) flow. Never log or return them.
    pub fn key_bytes(&self) -> &[u8] {
        &self.key
    }

    /// The key length in bytes.
    pub fn len(&self) -> usize {
        self.key.len()
    }

    /// Always false: empty keys are refused at construction. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.key.is_empty()
    }

    pub(crate) fn key(&self) -> Key {
        // HMAC accepts keys of any length (longer ones are hashed first, as RFC 2104 says),
        // so this cannot fail.
        Key::new(&self.key)
    }
}

/// The rules of [`Secret::parse`] and [`Secret::from_base64`] in one body (one copy in the
/// verifier wasm, which offers both): `whsec_<base64>` is decoded when `whsec_base64`, text
/// without the prefix when `only_base64`; other text is used as its UTF-8 bytes.
fn from_text(text: &str, whsec_base64: bool, only_base64: bool) -> Result<Secret, SignatureError> {
    check_text(text)?;
    match text.strip_prefix(WHSEC_PREFIX) {
        Some(encoded) if whsec_base64 => decode_base64_key(encoded),
        None if only_base64 => decode_base64_key(text),
        _ => Secret::from_bytes(text.as_bytes()),
    }
}

fn check_text(text: &str) -> Result<(), SignatureError> {
    if text.is_empty() {
        return Err(invalid(SecretProblem::Empty));
    }
    let edge_space = |b: Option<&u8>| b.is_some_and(u8::is_ascii_whitespace);
    if edge_space(text.as_bytes().first()) || edge_space(text.as_bytes().last()) {
        return Err(invalid(SecretProblem::SurroundingWhitespace));
    }
    if text.starts_with("v1,") {
        return Err(invalid(SecretProblem::PastedSignature));
    }
    Ok(())
}

fn decode_base64_key(encoded: &str) -> Result<Secret, SignatureError> {
    if encoded.is_empty() {
        return Err(invalid(SecretProblem::Empty));
    }
    let mut bytes = Vec::new();
    push_base64_decoded(&mut bytes, encoded.as_bytes())
        .map_err(|p| invalid(SecretProblem::Base64(p)))?;
    Secret::from_bytes(&bytes)
}

fn invalid(problem: SecretProblem) -> SignatureError {
    SignatureError::InvalidSecret {
        position: 1,
        problem,
    }
}

fn at_position(e: SignatureError, position: usize) -> SignatureError {
    match e {
        SignatureError::InvalidSecret { problem, .. } => {
            SignatureError::InvalidSecret { position, problem }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::encoding::Base64Problem;
    use wasm_bindgen_test::wasm_bindgen_test;

    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn problem(r: Result<Secret, SignatureError>) -> SecretProblem {
        match r {
            Err(SignatureError::InvalidSecret { problem, .. }) => problem,
            other => panic!("expected an invalid secret, got {other:?}"),
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn decodes_whsec_secret_to_its_base64_bytes() {
        let s = Secret::parse(Scheme::StandardWebhooks, SPEC_SECRET).unwrap();
        assert_eq!(s.len(), 24);
        assert_eq!(Secret::from_base64(&SPEC_SECRET[6..]).unwrap().len(), 24);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn uses_unprefixed_and_stripe_secrets_as_raw_bytes() {
        let raw = "this-is-a-raw-secret-of-32-bytes";
        assert_eq!(
            Secret::parse(Scheme::StandardWebhooks, raw).unwrap().len(),
            32
        );
        assert_eq!(
            Secret::parse(Scheme::Stripe, SPEC_SECRET).unwrap().len(),
            38
        );
        assert_eq!(Secret::parse(Scheme::GitHub, raw).unwrap().len(), 32);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_malformed_whsec_base64() {
        assert_eq!(
            problem(Secret::parse(
                Scheme::StandardWebhooks,
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!"
            )),
            SecretProblem::Base64(Base64Problem::InvalidCharacter(31))
        );
        assert_eq!(
            problem(Secret::parse(
                Scheme::StandardWebhooks,
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-"
            )),
            SecretProblem::Base64(Base64Problem::UrlSafeAlphabet(31))
        );
        assert_eq!(
            problem(Secret::parse(Scheme::StandardWebhooks, "whsec_")),
            SecretProblem::Empty
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn unprefixed_base64_error_does_not_claim_a_whsec_prefix() {
        let e = Secret::from_base64("short").unwrap_err();
        assert_eq!(e, invalid(SecretProblem::Base64(Base64Problem::BadLength)));
        let message = e.to_string();
        assert!(message.contains("the secret's base64 (after any \"whsec_\" prefix)"));
        assert!(!message.contains("after \"whsec_\""), "{message}");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_pasted_signature_whitespace_and_short_keys() {
        assert_eq!(
            problem(Secret::parse(
                Scheme::StandardWebhooks,
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
            )),
            SecretProblem::PastedSignature
        );
        assert_eq!(
            problem(Secret::parse(Scheme::Stripe, "whsec_abc\n")),
            SecretProblem::SurroundingWhitespace
        );
        assert_eq!(
            problem(Secret::parse(Scheme::StandardWebhooks, "whsec_c2hvcnQ=")),
            SecretProblem::TooShort {
                len: 5,
                min: MIN_SECRET_BYTES
            }
        );
        assert_eq!(
            problem(Secret::parse(Scheme::GitHub, "")),
            SecretProblem::Empty
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn parse_list_names_the_position_of_the_bad_secret() {
        let list = format!("{SPEC_SECRET}  whsec_c2hvcnQ=");
        match Secret::parse_list(Scheme::StandardWebhooks, &list) {
            Err(SignatureError::InvalidSecret { position, .. }) => assert_eq!(position, 2),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            Secret::parse_list(Scheme::StandardWebhooks, "  ").unwrap_err(),
            SignatureError::NoSecrets
        );
        assert_eq!(
            Secret::parse_list(
                Scheme::StandardWebhooks,
                &format!("{SPEC_SECRET} {SPEC_SECRET}")
            )
            .unwrap()
            .len(),
            2
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn key_macs_parts_as_one_message_and_hashes_long_keys_first() {
        // RFC 4231 test case 6: a 131-byte key (longer than the block) and a 54-byte message.
        let key = Secret::from_bytes(&[0xaa; 131]).unwrap().key();
        let mac = key.mac(&[
            b"Test Using Larger Than",
            b" Block-Size Key - Hash Key First",
        ]);
        let mut hex = Vec::new();
        crate::signature::encoding::push_hex(&mut hex, &mac);
        assert_eq!(
            hex,
            b"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn debug_output_redacts_the_key() {
        let s = Secret::parse(Scheme::StandardWebhooks, SPEC_SECRET).unwrap();
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
    }
}
