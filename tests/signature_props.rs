//! Property tests of the signature module: sign→verify holds for every scheme, and any
//! one-byte change of body, id, timestamp or signature is refused.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::signature::{Scheme, Secret, SignatureError, Signer, Verifier};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;

fn scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![
        Just(Scheme::StandardWebhooks),
        Just(Scheme::Stripe),
        Just(Scheme::GitHub)
    ]
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 24..80)
}

fn id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_]{1,40}"
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..1500),
        ".{0,300}".prop_map(String::into_bytes),
    ]
}

fn pair(scheme: Scheme, keys: &[Vec<u8>]) -> (Signer, Verifier) {
    let secrets: Vec<Secret> = keys
        .iter()
        .map(|k| Secret::from_bytes(k).unwrap())
        .collect();
    (
        Signer::new(scheme, secrets.clone()).unwrap(),
        Verifier::new(scheme, secrets).unwrap(),
    )
}

/// Replaces the byte at `at % len` of `s` with a different character from `alphabet`.
fn change_char(s: &str, at: usize, alphabet: &[u8]) -> String {
    let mut bytes = s.as_bytes().to_vec();
    let i = at % bytes.len();
    let pos = alphabet
        .iter()
        .position(|&c| c == bytes[i])
        .map_or(0, |p| p + 1);
    bytes[i] = alphabet[pos % alphabet.len()];
    String::from_utf8(bytes).unwrap()
}

proptest! {
    #[test]
    fn signed_webhooks_verify(scheme in scheme(), k in key(), id in id(), ts in 0i64..4_000_000_000, body in body(), skew in -300i64..=300) {
        let (signer, verifier) = pair(scheme, &[k]);
        let headers = signer.headers(&id, ts, &body);
        let verified = verifier.verify(&headers, &body, ts + skew).unwrap();
        prop_assert_eq!(verified.scheme, scheme);
        if scheme != Scheme::Stripe {
            prop_assert_eq!(verified.id.as_deref(), Some(id.as_str()));
        }
    }

    #[test]
    fn any_one_byte_body_change_is_refused(scheme in scheme(), k in key(), id in id(), body in body(), at in any::<usize>(), flip in 1u8..=255) {
        let (signer, verifier) = pair(scheme, &[k]);
        let headers = signer.headers(&id, NOW, &body);
        let mut changed = body.clone();
        if changed.is_empty() { changed.push(flip) } else { let i = at % changed.len(); changed[i] ^= flip; }
        prop_assert_eq!(verifier.verify(&headers, &changed, NOW), Err(SignatureError::NoMatchingSignature));
    }

    #[test]
    fn any_id_or_timestamp_change_is_refused(k in key(), id in id(), body in body(), at in any::<usize>()) {
        let (signer, verifier) = pair(Scheme::StandardWebhooks, &[k]);
        let headers = signer.headers(&id, NOW, &body);
        let mut other_id = headers.clone();
        other_id[0].1 = change_char(&id, at, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
        prop_assert_eq!(verifier.verify(&other_id, &body, NOW), Err(SignatureError::NoMatchingSignature));
        let mut other_ts = headers.clone();
        other_ts[1].1 = change_char(&other_ts[1].1, at, b"0123456789");
        prop_assert!(verifier.verify(&other_ts, &body, NOW).is_err());
    }

    #[test]
    fn any_signature_change_is_refused(scheme in scheme(), k in key(), id in id(), body in body(), at in any::<usize>()) {
        let (signer, verifier) = pair(scheme, &[k]);
        let mut headers = signer.headers(&id, NOW, &body);
        // Change one character of the MAC itself, never the `v1,`/`t=…,v1=`/`sha256=` framing.
        let sig = headers[match scheme { Scheme::StandardWebhooks => 2, _ => 0 }].1.clone();
        let mac_start = sig.rfind(['=', ',']).map_or(0, |i| i + 1);
        let mac_start = if scheme == Scheme::StandardWebhooks { 3 } else { mac_start };
        let mac_len = if scheme == Scheme::StandardWebhooks { 43 } else { sig.len() - mac_start };
        let alphabet: &[u8] = if scheme == Scheme::StandardWebhooks {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        } else {
            b"0123456789abcdef"
        };
        let i = mac_start + at % mac_len;
        let changed = format!("{}{}", &sig[..i], change_char(&sig[i..], 0, alphabet));
        let slot = match scheme { Scheme::StandardWebhooks => 2, _ => 0 };
        headers[slot].1 = changed;
        prop_assert!(verifier.verify(&headers, &body, NOW).is_err());
    }

    #[test]
    fn any_configured_secret_verifies_and_others_do_not(keys in prop::collection::vec(key(), 1..5), pick in any::<usize>(), stranger in key(), id in id(), body in body()) {
        let signing = &keys[pick % keys.len()];
        let (signer, _) = pair(Scheme::StandardWebhooks, std::slice::from_ref(signing));
        let headers = signer.headers(&id, NOW, &body);
        let (_, verifier) = pair(Scheme::StandardWebhooks, &keys);
        prop_assert!(verifier.verify(&headers, &body, NOW).is_ok());
        prop_assume!(!keys.contains(&stranger));
        let (_, other) = pair(Scheme::StandardWebhooks, &[stranger]);
        prop_assert_eq!(other.verify(&headers, &body, NOW), Err(SignatureError::NoMatchingSignature));
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

proptest! {
    /// The core's own HMAC-SHA256 (what every scheme signs with) agrees with the `hmac`
    /// crate for keys on both sides of the 64-byte block and bodies across many blocks.
    #[test]
    fn signatures_are_the_hmac_crates_hmac_sha256(k in prop::collection::vec(any::<u8>(), 24..200), body in prop::collection::vec(any::<u8>(), 0..3000)) {
        use hmac::Mac;
        let signer = Signer::new(Scheme::GitHub, [Secret::from_bytes(&k).unwrap()]).unwrap();
        let mut oracle = hmac::Hmac::<sha2::Sha256>::new_from_slice(&k).unwrap();
        oracle.update(&body);
        let expected = format!("sha256={}", hex(&oracle.finalize().into_bytes()));
        prop_assert_eq!(signer.signature("", 0, &body), expected);
    }
}
