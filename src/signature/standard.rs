//! Standard Webhooks v1: `webhook-id`, `webhook-timestamp`, `webhook-signature` (or the
//! `svix-*` names), HMAC-SHA256 over `id.timestamp.body`, base64.

use super::encoding::push_base64_decoded;
use super::{parse_unix_secs, Headers, Parsed, Scheme, SignatureError, Verified, Window};

pub(super) const ID: &str = "webhook-id";
pub(super) const TIMESTAMP: &str = "webhook-timestamp";
pub(super) const SIGNATURE: &str = "webhook-signature";
/// Svix's names for the same three headers, read when the `webhook-*` one is absent.
pub(super) const ID_ALIAS: &str = "svix-id";
pub(super) const TIMESTAMP_ALIAS: &str = "svix-timestamp";
pub(super) const SIGNATURE_ALIAS: &str = "svix-signature";

/// The `webhook-*` name wins; Svix's older `svix-*` name is the fallback.
fn lookup<'h, H: Headers + ?Sized>(
    headers: &'h H,
    name: &'static str,
    alias: &str,
) -> Result<&'h str, SignatureError> {
    headers
        .header(name)
        .or_else(|| headers.header(alias))
        .ok_or(SignatureError::MissingHeader { header: name })
}

pub(super) fn parse<H: Headers + ?Sized>(
    headers: &H,
    window: Window,
) -> Result<Parsed, SignatureError> {
    let id = lookup(headers, ID, ID_ALIAS)?;
    let timestamp_text = lookup(headers, TIMESTAMP, TIMESTAMP_ALIAS)?;
    let signatures = lookup(headers, SIGNATURE, SIGNATURE_ALIAS)?;
    if id.is_empty() {
        return Err(SignatureError::MalformedHeader {
            header: ID,
            expected: "a non-empty message id",
        });
    }
    let timestamp =
        parse_unix_secs(timestamp_text.as_bytes()).ok_or(SignatureError::MalformedHeader {
            header: TIMESTAMP,
            expected: "unix seconds as plain decimal digits",
        })?;
    window.check(timestamp)?;

    let mut entries = 0usize;
    let mut v1_entries = 0usize;
    let mut candidates = Vec::new();
    for entry in signatures
        .as_bytes()
        .split(|&b| b == b' ')
        .filter(|e| !e.is_empty())
    {
        entries += 1;
        if let Some(encoded) = entry.strip_prefix(b"v1,") {
            v1_entries += 1;
            // A v1 entry that is not base64 of 32 bytes can never match: skip it like a
            // wrong signature rather than failing the whole header.
            let start = candidates.len();
            if push_base64_decoded(&mut candidates, encoded).is_err()
                || candidates.len() - start != 32
            {
                candidates.truncate(start);
            }
        }
    }
    if entries == 0 {
        return Err(SignatureError::MalformedHeader {
            header: SIGNATURE,
            expected: "space-separated \"v1,<base64>\" signatures",
        });
    }
    if v1_entries == 0 {
        return Err(SignatureError::NoSupportedSignature { header: SIGNATURE });
    }
    let mut prefix = Vec::with_capacity(id.len() + timestamp_text.len() + 2);
    prefix.extend_from_slice(id.as_bytes());
    prefix.push(b'.');
    prefix.extend_from_slice(timestamp_text.as_bytes());
    prefix.push(b'.');
    Ok(Parsed {
        prefix,
        candidates,
        verified: Verified {
            scheme: Scheme::StandardWebhooks,
            id: Some(id.to_owned()),
            timestamp: Some(timestamp),
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::signature::{Scheme, Secret, SignatureError, Signer, Verifier};
    use wasm_bindgen_test::wasm_bindgen_test;

    // The Standard Webhooks reference vector (standard-webhooks repository, library tests).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn verifier() -> Verifier {
        Verifier::parse(Scheme::StandardWebhooks, SECRET).unwrap()
    }

    fn headers(sig: &str) -> Vec<(&'static str, String)> {
        vec![
            ("Webhook-Id", ID.to_owned()),
            ("WEBHOOK-TIMESTAMP", TS.to_string()),
            ("webhook-signature", sig.to_owned()),
        ]
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn signs_the_reference_vector() {
        let signer = Signer::new(
            Scheme::StandardWebhooks,
            [Secret::parse(Scheme::StandardWebhooks, SECRET).unwrap()],
        )
        .unwrap();
        assert_eq!(signer.signature(ID, TS, BODY), SIG);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn verifies_the_reference_vector_and_exposes_the_id() {
        let v = verifier().verify(&headers(SIG), BODY, TS + 10).unwrap();
        assert_eq!(v.id.as_deref(), Some(ID));
        assert_eq!(v.timestamp, Some(TS));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn accepts_svix_header_names() {
        let h = [
            ("svix-id", ID.to_owned()),
            ("svix-timestamp", TS.to_string()),
            ("svix-signature", SIG.to_owned()),
        ];
        assert!(verifier().verify(&h, BODY, TS).is_ok());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn finds_the_valid_signature_among_others_and_ignores_other_versions() {
        let sig = format!(
            "v1a,AAAA v2,{} v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=  {SIG}",
            &SIG[3..]
        );
        assert!(verifier().verify(&headers(&sig), BODY, TS).is_ok());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_header_with_only_other_versions() {
        let sig = format!("v2,{} v1a,xyz", &SIG[3..]);
        assert_eq!(
            verifier().verify(&headers(&sig), BODY, TS),
            Err(SignatureError::NoSupportedSignature {
                header: "webhook-signature"
            })
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_tampered_body() {
        let body = br#"{"test": 2432232315}"#;
        assert_eq!(
            verifier().verify(&headers(SIG), body, TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_truncated_and_garbage_signatures() {
        for sig in ["v1,", &SIG[..8], "v1,dawfeoifkpqwoekfpqoekf"] {
            assert_eq!(
                verifier().verify(&headers(sig), BODY, TS),
                Err(SignatureError::NoMatchingSignature),
                "{sig}"
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn names_the_missing_header() {
        let mut h = headers(SIG);
        h.remove(1);
        assert_eq!(
            verifier().verify(&h, BODY, TS),
            Err(SignatureError::MissingHeader {
                header: "webhook-timestamp"
            })
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_non_numeric_timestamp_as_malformed() {
        let mut h = headers(SIG);
        h[1].1 = "hello".to_owned();
        assert!(matches!(
            verifier().verify(&h, BODY, TS),
            Err(SignatureError::MalformedHeader {
                header: "webhook-timestamp",
                ..
            })
        ));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_timestamp_older_than_tolerance() {
        assert_eq!(
            verifier().verify(&headers(SIG), BODY, TS + 301),
            Err(SignatureError::TimestampTooOld {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert!(verifier()
            .with_tolerance_secs(400)
            .verify(&headers(SIG), BODY, TS + 301)
            .is_ok());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_timestamp_too_far_in_the_future() {
        assert_eq!(
            verifier().verify(&headers(SIG), BODY, TS - 301),
            Err(SignatureError::TimestampTooNew {
                ahead_secs: 301,
                tolerance_secs: 300
            })
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn accepts_signature_from_second_secret() {
        let other = "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==";
        let v = Verifier::parse(Scheme::StandardWebhooks, &format!("{other} {SECRET}")).unwrap();
        assert!(v.verify(&headers(SIG), BODY, TS).is_ok());
        let only_other = Verifier::parse(Scheme::StandardWebhooks, other).unwrap();
        assert_eq!(
            only_other.verify(&headers(SIG), BODY, TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }
}
