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
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
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
