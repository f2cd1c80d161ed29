//! Splitting a byte stream into lines across arbitrary chunk boundaries.
//!
//! Only `\n` ends a line; a `\r` right before it is dropped, so CRLF files read like LF files.
//! Splitting happens on bytes: `\n` never occurs inside a multibyte UTF-8 sequence, so a chunk
//! boundary in the middle of a character is harmless — the partial line is carried over whole.

/// Turns chunks into complete lines, numbered from 1, keeping only the unfinished tail.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    carry: Vec<u8>,
    line: u64,
    /// Set once the carried tail grew past the caller's limit: the rest of that line is dropped.
    overflow: bool,
}

impl LineSplitter {
    /// Hands every line completed by `chunk` to `each(line_number, bytes)`.
    ///
    /// `max_carry` bounds the memory kept for a line that has not ended yet; a longer line is
    /// reported by `each` with `overflowed = true` and its content truncated.
    pub(crate) fn feed(
        &mut self,
        chunk: &[u8],
        max_carry: usize,
        mut each: impl FnMut(u64, &[u8], bool),
    ) {
        let mut rest = chunk;
        while let Some(pos) = find_newline(rest) {
            let (head, tail) = (&rest[..pos], &rest[pos + 1..]);
            self.line += 1;
            if self.carry.is_empty() && !self.overflow {
                each(self.line, strip_cr(head), false);
            } else {
                self.push_carry(head, max_carry);
                let carry = std::mem::take(&mut self.carry);
                each(self.line, strip_cr(&carry), self.overflow);
                self.carry = carry;
                self.carry.clear();
                self.overflow = false;
            }
            rest = tail;
        }
        self.push_carry(rest, max_carry);
    }

    /// Hands out the last line if the input did not end with a newline.
    pub(crate) fn finish(&mut self, mut each: impl FnMut(u64, &[u8], bool)) {
        if !self.carry.is_empty() || self.overflow {
            self.line += 1;
            let carry = std::mem::take(&mut self.carry);
            each(self.line, strip_cr(&carry), self.overflow);
            self.overflow = false;
        }
    }

    fn push_carry(&mut self, bytes: &[u8], max_carry: usize) {
        let room = max_carry.saturating_sub(self.carry.len());
        if bytes.len() > room {
            self.overflow = true;
            self.carry.extend_from_slice(&bytes[..room]);
        } else {
            self.carry.extend_from_slice(bytes);
        }
    }
}

/// The first `\n`, eight bytes at a time (wasm has 64-bit integers but no SIMD by default).
#[inline(always)]
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(word) = bytes.get(i..i + 8) {
        let v = u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) ^ (ONES * u64::from(b'\n'));
        // The lowest set bit marks the first zero byte exactly (borrows only move upwards).
        let zero = v.wrapping_sub(ONES) & !v & HIGH;
        if zero != 0 {
            return Some(i + zero.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| b == b'\n').map(|p| i + p)
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// True when a line holds nothing but JSON whitespace.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn split(chunks: &[&[u8]]) -> Vec<(u64, Vec<u8>, bool)> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, 1 << 20, |n, l, o| out.push((n, l.to_vec(), o)));
        }
        s.finish(|n, l, o| out.push((n, l.to_vec(), o)));
        out
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn joins_a_line_split_across_chunks_inside_a_multibyte_character() {
        let text = "a\n\u{1F600}b\nc".as_bytes();
        let whole = split(&[text]);
        for cut in 0..text.len() {
            assert_eq!(split(&[&text[..cut], &text[cut..]]), whole, "cut at {cut}");
        }
        assert_eq!(whole[1].1, "\u{1F600}b".as_bytes());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn finds_the_first_newline_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                let mut bytes = vec![b'x'; len];
                bytes[at] = b'\n';
                if at + 1 < len {
                    bytes[len - 1] = b'\n';
                }
                bytes[..at].iter_mut().for_each(|b| *b = 0x0B);
                assert_eq!(find_newline(&bytes), Some(at), "len {len} at {at}");
            }
            assert_eq!(find_newline(&vec![0x8A; len]), None);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn drops_carriage_return_before_newline_and_keeps_trailing_newline_silent() {
        let lines = split(&[b"x\r\ny\r\n"]);
        assert_eq!(
            lines,
            vec![(1, b"x".to_vec(), false), (2, b"y".to_vec(), false)]
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reports_an_overlong_line_as_overflowed_without_keeping_it_all() {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        s.feed(b"0123456789", 4, |n, l, o| out.push((n, l.to_vec(), o)));
        s.feed(b"abc\nok\n", 4, |n, l, o| out.push((n, l.to_vec(), o)));
        assert_eq!(
            out,
            vec![(1, b"0123".to_vec(), true), (2, b"ok".to_vec(), false)]
        );
    }
}
