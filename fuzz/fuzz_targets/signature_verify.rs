//! Any headers and body given to each scheme's verifier, and any text given as a secret: no
//! panic; nothing verifies without the secret; what the signer signs for a fuzzed id and body
//! verifies, and stops verifying when one byte of the body changes.
#![no_main]

use batchhook::signature::{Scheme, Secret, Signer, Verifier, MIN_SECRET_BYTES};
use libfuzzer_sys::fuzz_target;

const SCHEMES: [Scheme; 3] = [Scheme::StandardWebhooks, Scheme::Stripe, Scheme::GitHub];
const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let scheme = SCHEMES[usize::from(selector) % SCHEMES.len()];
    // Up to as many `\n`-separated header values as the scheme reads, then the body.
    let text = String::from_utf8_lossy(rest);
    let names = scheme.header_names();
    let mut parts = text.splitn(names.len() + 1, '\n');
    let headers: Vec<(&str, &str)> = names
        .iter()
        .zip(parts.by_ref())
        .map(|(n, v)| (*n, v))
        .collect();
    let body = parts.next().unwrap_or("").as_bytes();

    let verifier = Verifier::new(scheme, [Secret::from_bytes(&[0x5a; 32]).unwrap()]).unwrap();
    assert!(
        verifier.verify(&headers, body, NOW).is_err(),
        "fuzzed headers verified without the secret"
    );

    if let Ok(secret) = Secret::parse(scheme, &text) {
        assert!(secret.len() >= MIN_SECRET_BYTES);
    }

    let id = headers.first().map_or("msg", |(_, v)| v);
    let id = if id.is_empty() { "msg" } else { id };
    let secret = Secret::from_bytes(&[0xa5; 40]).unwrap();
    let signed = Signer::new(scheme, [secret.clone()])
        .unwrap()
        .headers(id, NOW, body);
    let verifier = Verifier::new(scheme, [secret]).unwrap();
    assert!(
        verifier.verify(&signed, body, NOW).is_ok(),
        "own signature refused"
    );
    if let Some((&first, tail)) = body.split_first() {
        let mut changed = vec![first ^ 1];
        changed.extend_from_slice(tail);
        assert!(
            verifier.verify(&signed, &changed, NOW).is_err(),
            "changed body verified"
        );
    }
});
