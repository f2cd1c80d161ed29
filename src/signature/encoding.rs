//! Strict base64 (standard alphabet) and hex codecs, a constant-time comparison and a
//! decimal formatter. The encoders append ASCII to byte vectors: pushing `char`s onto a
//! `String` costs a UTF-8 encoding branch per character in the verifier wasm.
//!
//! Written here rather than pulled from crates because each is a few dozen lines, the
//! verifier-only wasm has an 8 KB gzip budget, and the rules must be *strict*: a permissive
//! decoder that skips junk turns a malformed secret into a short, forgeable key.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Why a base64 text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base64Problem {
    /// A character outside `A–Z a–z 0–9 + /` (and `=` as trailing padding), at this byte offset.
    InvalidCharacter(usize),
    /// `-` or `_` at this byte offset: the URL-safe alphabet, which this decoder does not accept.
    UrlSafeAlphabet(usize),
    /// Padding that is misplaced, too long, or present on a text whose length is not a multiple of 4.
    BadPadding,
    /// A length that no base64 encoding can have (one character left over).
    BadLength,
    /// Leftover bits in the last character are not zero: not the canonical encoding of any bytes.
    NonCanonical,
}

/// Appends `bytes` as padded standard base64.
pub fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut acc = 0u32;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[(acc >> bits) as usize & 63]);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[(acc << (6 - bits)) as usize & 63]);
    }
    for _ in 0..(3 - bytes.len() % 3) % 3 {
        out.push(b'=');
    }
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes standard base64, padded or unpadded, refusing anything non-canonical, and appends
/// the bytes to `out` (on an error, some may have been appended). Appending lets a parser
/// decode a MAC straight into its candidates, without a buffer of its own.
pub fn push_base64_decoded(out: &mut Vec<u8>, text: &[u8]) -> Result<(), Base64Problem> {
    let pad = text.iter().rev().take_while(|&&c| c == b'=').count();
    let data = &text[..text.len() - pad];
    if pad > 2 || (pad > 0 && text.len() % 4 != 0) {
        return Err(Base64Problem::BadPadding);
    }
    if data.len() % 4 == 1 {
        return Err(Base64Problem::BadLength);
    }
    if pad > 0 && (data.len() + pad) % 4 != 0 {
        return Err(Base64Problem::BadPadding);
    }
    out.reserve(data.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for (i, &c) in data.iter().enumerate() {
        let v = match sextet(c) {
            Some(v) => v,
            None if c == b'-' || c == b'_' => return Err(Base64Problem::UrlSafeAlphabet(i)),
            None if c == b'=' => return Err(Base64Problem::BadPadding),
            None => return Err(Base64Problem::InvalidCharacter(i)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return Err(Base64Problem::NonCanonical);
    }
    Ok(())
}

/// Appends `bytes` as lowercase hex.
pub fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.extend_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes a MAC written as 64 hex digits of either case and appends its 32 bytes to `macs`;
/// `false` (and nothing appended) for any other length or a non-hex character. (Hex only
/// ever carries MACs here.) Not inlined: Stripe's and GitHub's parsers share one copy in the
/// verifier wasm.
#[inline(never)]
pub fn push_hex_mac(macs: &mut Vec<u8>, text: &[u8]) -> bool {
    if text.len() != 64 {
        return false;
    }
    let start = macs.len();
    let mut byte = 0u8;
    for (i, &c) in text.iter().enumerate() {
        let Some(n) = nibble(c) else {
            macs.truncate(start);
            return false;
        };
        byte = (byte << 4) | n;
        if i % 2 == 1 {
            macs.push(byte);
        }
    }
    true
}

/// Compares two byte strings in time that depends only on their lengths, so a forger cannot
/// learn how many leading bytes of a guessed MAC were right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}

/// Appends the decimal form of `n` without `core::fmt` (which would bloat the wasm verifier).
pub fn push_decimal(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn base64_encode(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        push_base64(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    fn base64_decode(text: &[u8]) -> Result<Vec<u8>, Base64Problem> {
        let mut out = Vec::new();
        push_base64_decoded(&mut out, text).map(|()| out)
    }

    fn hex_encode(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        push_hex(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn base64_round_trips_every_length_up_to_forty() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len)
                .map(|i| i.wrapping_mul(37).wrapping_add(len))
                .collect();
            let text = base64_encode(&bytes);
            assert_eq!(base64_decode(text.as_bytes()), Ok(bytes.clone()));
            let unpadded = text.trim_end_matches('=');
            assert_eq!(base64_decode(unpadded.as_bytes()), Ok(bytes));
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn base64_decoding_appends_after_what_is_there() {
        let mut out = b"ab".to_vec();
        assert_eq!(push_base64_decoded(&mut out, b"Zm9vYg"), Ok(()));
        assert_eq!(out, b"abfoob");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn base64_encodes_rfc4648_examples() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn base64_rejects_malformed_text() {
        assert_eq!(base64_decode(b"Zm9v!"), Err(Base64Problem::BadLength));
        assert_eq!(
            base64_decode(b"Zm9!"),
            Err(Base64Problem::InvalidCharacter(3))
        );
        assert_eq!(
            base64_decode(b"Zm-v"),
            Err(Base64Problem::UrlSafeAlphabet(2))
        );
        assert_eq!(base64_decode(b"Zg="), Err(Base64Problem::BadPadding));
        assert_eq!(base64_decode(b"Z==="), Err(Base64Problem::BadPadding));
        assert_eq!(base64_decode(b"Zg=a"), Err(Base64Problem::BadPadding));
        assert_eq!(base64_decode(b"Zh=="), Err(Base64Problem::NonCanonical));
        assert_eq!(
            base64_decode(b"Zm9 vw=="),
            Err(Base64Problem::InvalidCharacter(3))
        );
    }

    fn hex_mac(text: &[u8]) -> Option<Vec<u8>> {
        let mut macs = b"kept".to_vec();
        let pushed = push_hex_mac(&mut macs, text);
        assert_eq!(macs.len(), if pushed { 36 } else { 4 });
        assert_eq!(&macs[..4], b"kept");
        pushed.then(|| macs[4..].to_vec())
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn hex_round_trips_and_rejects_junk() {
        let bytes = [0u8, 1, 0x7f, 0x80, 0xfe, 0xff];
        assert_eq!(hex_encode(&bytes), "00017f80feff");
        let mac: [u8; 32] = core::array::from_fn(|i| (i * 8) as u8 ^ 0xa5);
        assert_eq!(hex_mac(hex_encode(&mac).as_bytes()), Some(mac.to_vec()));
        assert_eq!(
            hex_mac(hex_encode(&mac).to_uppercase().as_bytes()),
            Some(mac.to_vec())
        );
        assert_eq!(hex_mac(&[b'a'; 62]), None);
        assert_eq!(hex_mac(&[b'a'; 66]), None);
        let mut junk = hex_encode(&mac).into_bytes();
        junk[63] = b'g';
        assert_eq!(hex_mac(&junk), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn constant_time_eq_matches_only_identical_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn push_decimal_writes_zero_and_extremes() {
        let mut s = Vec::new();
        push_decimal(&mut s, 0);
        s.push(b' ');
        push_decimal(&mut s, 1_614_265_330);
        s.push(b' ');
        push_decimal(&mut s, u64::MAX);
        assert_eq!(s, b"0 1614265330 18446744073709551615");
    }
}
