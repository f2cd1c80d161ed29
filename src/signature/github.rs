//! GitHub: `x-hub-signature-256: sha256=<hex>`, HMAC-SHA256 over the body alone. GitHub signs
//! no timestamp, so only the delivery id (`x-github-delivery`) protects against replays.

use super::encoding::push_hex_mac;
use super::{Headers, Parsed, Scheme, SignatureError, Verified};

pub(super) const SIGNATURE: &str = "x-hub-signature-256";
pub(super) const DELIVERY: &str = "x-github-delivery";
pub(super) const LEGACY_SHA1: &str = "x-hub-signature";

pub(super) fn parse<H: Headers + ?Sized>(headers: &H) -> Result<Parsed, SignatureError> {
    let Some(header) = headers.header(SIGNATURE) else {
        // Only the SHA-1 header: the sender is configured for a digest this verifier refuses.
        return Err(if headers.header(LEGACY_SHA1).is_some() {
            SignatureError::NoSupportedSignature { header: SIGNATURE }
        } else {
            SignatureError::MissingHeader { header: SIGNATURE }
        });
    };
    let mut candidates = Vec::new();
    let hex = header.strip_prefix("sha256=");
    if !hex.is_some_and(|hex| push_hex_mac(&mut candidates, hex.as_bytes())) {
        return Err(SignatureError::MalformedHeader {
            header: SIGNATURE,
            expected: "\"sha256=\" followed by 64 hex digits",
        });
    }
    Ok(Parsed {
        prefix: Vec::new(),
        candidates,
        verified: Verified {
            scheme: Scheme::GitHub,
            id: headers.header(DELIVERY).map(str::to_owned),
            timestamp: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::signature::{Scheme, Secret, SignatureError, Signer, Verifier};
    use wasm_bindgen_test::wasm_bindgen_test;

    // The example in GitHub's "Validating webhook deliveries" documentation.
    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";
    const SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn verifier() -> Verifier {
        // The secret holds spaces, so it cannot go through the whitespace-separated list form.
        Verifier::new(
            Scheme::GitHub,
            [Secret::parse(Scheme::GitHub, SECRET).unwrap()],
        )
        .unwrap()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn signs_and_verifies_the_documented_example() {
        let signer = Signer::new(
            Scheme::GitHub,
            [Secret::parse(Scheme::GitHub, SECRET).unwrap()],
        )
        .unwrap();
        assert_eq!(signer.signature("d-1", 0, BODY), SIG);
        let h = [("X-Hub-Signature-256", SIG), ("X-GitHub-Delivery", "d-1")];
        let v = verifier().verify(&h, BODY, 0).unwrap();
        assert_eq!((v.id.as_deref(), v.timestamp), (Some("d-1"), None));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_sha1_only_tampered_and_malformed() {
        assert_eq!(
            verifier().verify(&[("x-hub-signature", "sha1=00")], BODY, 0),
            Err(SignatureError::NoSupportedSignature {
                header: "x-hub-signature-256"
            })
        );
        assert_eq!(
            verifier().verify(&[("x-hub-signature-256", SIG)], b"Hello, World?", 0),
            Err(SignatureError::NoMatchingSignature)
        );
        for bad in [
            "757107ea",
            "sha256=zz",
            "sha256=",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ] {
            assert!(matches!(
                verifier().verify(&[("x-hub-signature-256", bad)], BODY, 0),
                Err(SignatureError::MalformedHeader { .. })
            ));
        }
    }
}
