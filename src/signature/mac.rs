//! HMAC-SHA256 (RFC 2104) over sha2's SHA-256 compression function.
//!
//! The `hmac` crate's generic block-buffer machinery is about 2 KB of the verifier-only wasm,
//! whose whole budget is 8 KB gzip; HMAC itself is two hashes around a padded key, so the
//! streaming and padding are done here and only the compression function (the part worth
//! trusting to a vetted crate) comes from `sha2`. The `hmac` crate remains the oracle the
//! tests compare against, with the RFC 4231 vectors.

use sha2::digest::generic_array::GenericArray;

/// SHA-256's block size in bytes.
const BLOCK: usize = 64;

/// SHA-256's initial chaining value (FIPS 180-4 §5.3.3).
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Absorbs `blocks`, a whole number of blocks. One copy, not inlined, so that sha2's
/// compression function is inlined into this loop: V8 compiles its rounds faster inside a
/// loop than in a function of its own that is called once per block (measured 5–7 % more
/// 256-byte verifications per second).
#[inline(never)]
fn compress(state: &mut [u32; 8], blocks: &[u8]) {
    for block in blocks.chunks_exact(BLOCK) {
        sha2::compress256(
            state,
            core::slice::from_ref(GenericArray::from_slice(block)),
        );
    }
}

/// A SHA-256 computation in progress: the chaining state, the bytes not yet compressed and
/// the message length so far. `tail` has room for two blocks: the padding of a tail longer
/// than 55 bytes spills into a second one.
struct Sha256 {
    state: [u32; 8],
    tail: [u8; 2 * BLOCK],
    filled: usize,
    len: u64,
}

impl Sha256 {
    /// Continues from `state` after `len` bytes (a whole number of blocks) were absorbed.
    fn resume(state: [u32; 8], len: u64) -> Sha256 {
        Sha256 {
            state,
            tail: [0; 2 * BLOCK],
            filled: 0,
            len,
        }
    }

    // Not inlined (here and `finish`): one copy serves the key setup and both hashes of a
    // MAC, which keeps the verifier wasm small; the compression dominates the time anyway.
    #[inline(never)]
    fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        if self.filled > 0 {
            let take = (BLOCK - self.filled).min(data.len());
            self.tail[self.filled..self.filled + take].copy_from_slice(&data[..take]);
            self.filled += take;
            data = &data[take..];
            if self.filled < BLOCK {
                return;
            }
            compress(&mut self.state, &self.tail[..BLOCK]);
            self.filled = 0;
        }
        let (blocks, rest) = data.split_at(data.len() - data.len() % BLOCK);
        compress(&mut self.state, blocks);
        self.tail[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    /// Appends the padding (a one bit, zeros, the length in bits) and returns the digest.
    #[inline(never)]
    fn finish(mut self) -> [u8; 32] {
        let bits = self.len.wrapping_mul(8);
        let end = if self.filled < BLOCK - 8 {
            BLOCK
        } else {
            2 * BLOCK
        };
        self.tail[self.filled] = 0x80;
        self.tail[self.filled + 1..end - 8].fill(0);
        self.tail[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        compress(&mut self.state, &self.tail[..end]);
        let mut out = [0; 32];
        for (bytes, word) in out.chunks_exact_mut(4).zip(self.state) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// The chaining state after one block of `key ^ pad`.
#[inline(never)]
fn padded(key: &[u8; BLOCK], pad: u8) -> [u32; 8] {
    let block = key.map(|b| b ^ pad);
    let mut state = IV;
    compress(&mut state, &block);
    state
}

/// An HMAC-SHA256 key, kept as the chaining states after its inner and outer padded blocks,
/// so each MAC starts two compressions in.
#[derive(Clone)]
pub(crate) struct Key {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Key {
    /// The key for `secret` of any length (longer than a block: its SHA-256 is the key).
    pub(crate) fn new(secret: &[u8]) -> Key {
        let mut block = [0u8; BLOCK];
        if secret.len() > BLOCK {
            let mut hash = Sha256::resume(IV, 0);
            hash.update(secret);
            block[..32].copy_from_slice(&hash.finish());
        } else {
            block[..secret.len()].copy_from_slice(secret);
        }
        Key {
            inner: padded(&block, 0x36),
            outer: padded(&block, 0x5c),
        }
    }

    /// The MAC of the concatenation of `parts`.
    #[inline(never)]
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = Sha256::resume(self.inner, BLOCK as u64);
        for part in parts {
            inner.update(part);
        }
        let mut outer = Sha256::resume(self.outer, BLOCK as u64);
        outer.update(&inner.finish());
        outer.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn matches_the_rfc_4231_vectors() {
        // (key, data, HMAC-SHA256) from RFC 4231 §4.2–4.8; case 5's output is truncated there.
        let long_key = "aa".repeat(131);
        let cases = [
            ("0b".repeat(20), hex_of(b"Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (hex_of(b"Jefe"), hex_of(b"what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ("aa".repeat(20), "dd".repeat(50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            ("0102030405060708090a0b0c0d0e0f10111213141516171819".to_owned(), "cd".repeat(50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (long_key.clone(), hex_of(b"Test Using Larger Than Block-Size Key - Hash Key First"), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (long_key, hex_of(b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ];
        for (key, data, expected) in cases {
            let mac = Key::new(&unhex(&key)).mac(&[&unhex(&data)]);
            assert_eq!(hex_of(&mac), expected);
        }
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn hashes_across_every_padding_boundary_like_one_message() {
        // Lengths around 55/56/64 bytes exercise the one- and two-block padding paths.
        let key = Key::new(b"0123456789abcdef0123456789abcdef");
        let data: Vec<u8> = (0..200u8).collect();
        for len in [0, 1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 128, 200] {
            let whole = key.mac(&[&data[..len]]);
            for split in [0, 1, len / 2, len.saturating_sub(1), len] {
                let (a, b) = data[..len].split_at(split.min(len));
                assert_eq!(key.mac(&[a, b]), whole, "len {len} split {split}");
            }
        }
    }
}
