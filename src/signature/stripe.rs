//! Stripe: `stripe-signature: t=<unix secs>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 over
//! `timestamp.body`, keyed with the secret text as is.

use super::encoding::push_hex_mac;
use super::{parse_unix_secs, Headers, Parsed, Scheme, SignatureError, Verified, Window};

pub(super) const SIGNATURE: &str = "stripe-signature";

const EXPECTED: &str = "comma-separated \"t=<unix seconds>\" and \"v1=<hex>\" pairs";

fn malformed() -> SignatureError {
    SignatureError::MalformedHeader {
        header: SIGNATURE,
        expected: EXPECTED,
    }
}

pub(super) fn parse<H: Headers + ?Sized>(
    headers: &H,
    window: Window,
) -> Result<Parsed, SignatureError> {
    let header = headers
        .header(SIGNATURE)
        .ok_or(SignatureError::MissingHeader { header: SIGNATURE })?;
    let mut timestamp_text = None;
    let mut v1_entries = 0usize;
    let mut candidates = Vec::new();
    for pair in header.as_bytes().split(|&b| b == b',') {
        // Whitespace around a pair is allowed (`t=1, v1=…`): the key is trimmed at its
        // start and the value at its end (whitespace is never `=`).
        let eq = pair.iter().position(|&b| b == b'=').ok_or_else(malformed)?;
        let (key, value) = (
            pair[..eq].trim_ascii_start(),
            pair[eq + 1..].trim_ascii_end(),
        );
        match key {
            b"t" if timestamp_text.is_some() => return Err(malformed()),
            b"t" => timestamp_text = Some(value),
            b"v1" => {
                v1_entries += 1;
                push_hex_mac(&mut candidates, value);
            }
            _ => {}
        }
    }
    let timestamp_text = timestamp_text.ok_or_else(malformed)?;
    let timestamp = parse_unix_secs(timestamp_text).ok_or_else(malformed)?;
    window.check(timestamp)?;
    if v1_entries == 0 {
        return Err(SignatureError::NoSupportedSignature { header: SIGNATURE });
    }
    let mut prefix = timestamp_text.to_vec();
    prefix.push(b'.');
    Ok(Parsed {
        prefix,
        candidates,
        verified: Verified {
            scheme: Scheme::Stripe,
            id: None,
            timestamp: Some(timestamp),
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::signature::{Scheme, Secret, SignatureError, Signer, Verifier};
    use wasm_bindgen_test::wasm_bindgen_test;

    const SECRET: &str = "whsec_test_secret_for_stripe_signatures";
    const TS: i64 = 1_700_000_000;
    const BODY: &[u8] = "{\"id\":\"evt_1\",\"note\":\"caf\u{e9} \u{1f680}\"}".as_bytes();

    fn pair() -> (Signer, Verifier) {
        let s = Secret::parse(Scheme::Stripe, SECRET).unwrap();
        (
            Signer::new(Scheme::Stripe, [s.clone()]).unwrap(),
            Verifier::new(Scheme::Stripe, [s]).unwrap(),
        )
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn round_trips_and_reports_the_timestamp() {
        let (signer, verifier) = pair();
        let h = signer.headers("ignored", TS, BODY);
        assert_eq!(h[0].0, "stripe-signature");
        assert!(h[0].1.starts_with("t=1700000000,v1="));
        let v = verifier.verify(&h, BODY, TS).unwrap();
        assert_eq!((v.id, v.timestamp), (None, Some(TS)));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn accepts_any_of_several_v1_and_ignores_v0() {
        let (signer, verifier) = pair();
        let sig = signer.signature("", TS, BODY);
        let v1 = sig.split_once(",v1=").unwrap().1;
        let header = format!("t={TS},v0={v1},v1={},v1={v1}", "ab".repeat(32));
        assert!(verifier
            .verify(&[("Stripe-Signature", header)], BODY, TS)
            .is_ok());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn allows_whitespace_around_pairs_but_not_around_the_equals_sign() {
        let (signer, verifier) = pair();
        let sig = signer.signature("", TS, BODY);
        let v1 = sig.split_once(",v1=").unwrap().1;
        let spaced = format!(" t={TS} ,\tv1={v1}\t");
        assert!(verifier
            .verify(&[("stripe-signature", spaced)], BODY, TS)
            .is_ok());
        for bad in [format!("t ={TS},v1={v1}"), format!("t={TS},v1 ={v1}")] {
            assert!(
                verifier
                    .verify(&[("stripe-signature", bad.as_str())], BODY, TS)
                    .is_err(),
                "{bad:?}"
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_signature_over_a_shifted_timestamp() {
        let (signer, verifier) = pair();
        let sig = signer
            .signature("", TS, BODY)
            .replacen("t=1700000000", "t=1700000001", 1);
        assert_eq!(
            verifier.verify(&[("stripe-signature", sig)], BODY, TS),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_malformed_missing_and_stale_headers() {
        let (signer, verifier) = pair();
        for bad in ["", "v1=00", "t=12,t=12,v1=00", "t=abc,v1=00", "garbage"] {
            assert!(
                matches!(
                    verifier.verify(&[("stripe-signature", bad)], BODY, TS),
                    Err(SignatureError::MalformedHeader { .. })
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            verifier.verify(&[("stripe-signature", format!("t={TS},v0=00"))], BODY, TS),
            Err(SignatureError::NoSupportedSignature {
                header: "stripe-signature"
            })
        );
        assert_eq!(
            verifier.verify(&[("x", "y")], BODY, TS),
            Err(SignatureError::MissingHeader {
                header: "stripe-signature"
            })
        );
        let h = signer.headers("", TS, BODY);
        assert!(matches!(
            verifier.verify(&h, BODY, TS + 1000),
            Err(SignatureError::TimestampTooOld { age_secs: 1000, .. })
        ));
    }
}
