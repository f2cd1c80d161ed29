//! A single-pass view of one input row: only the fields the checks need are extracted, every
//! other value is skipped while its syntax — and the UTF-8 of its strings — is still checked.
//!
//! This is a small JSON scanner written for the job rather than serde_json: nothing is decoded
//! or allocated for `messages` and other large request parts, keys below `body` are not even
//! compared, and string contents are skipped eight bytes at a time. The line's UTF-8 is checked
//! once up front, eight ASCII bytes at a time. That is what makes the wasm build faster than
//! `JSON.parse` per line in JavaScript. The grammar is RFC 8259's; nesting is
//! limited to 128 levels (as serde_json does); a lone UTF-16 surrogate in a `\u` escape of an
//! extracted string becomes U+FFFD.

use std::borrow::Cow;

/// A field value as far as the checks care: a string, or the JSON kind it was instead.
#[derive(Debug, PartialEq)]
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    Other(&'static str),
}

/// The request body: an object (with its `model`, if any) or the JSON kind it was instead.
#[derive(Debug, PartialEq)]
pub(crate) enum Body<'a> {
    Object { model: Option<Scalar<'a>> },
    Other(&'static str),
}

/// The top-level fields of one row.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Request<'a> {
    pub custom_id: Option<Scalar<'a>>,
    pub method: Option<Scalar<'a>>,
    pub url: Option<Scalar<'a>>,
    pub body: Option<Body<'a>>,
}

/// A row: an object, or the JSON kind it was instead.
#[derive(Debug, PartialEq)]
pub(crate) enum Row<'a> {
    Object(Request<'a>),
    Other(&'static str),
}

/// Parses one line (without its newline). Duplicate keys keep the last value, as `JSON.parse`
/// does. The error is a message for the user, with a 1-based byte column.
pub(crate) fn parse(line: &[u8]) -> std::result::Result<Row<'_>, String> {
    check_utf8(line).map_err(|at| Fault::Utf8(at).message())?;
    let mut p = Scanner { s: line, i: 0 };
    let row = p.row().map_err(|e| e.message())?;
    p.ws();
    if p.i < line.len() {
        return Err(Fault::Syntax("unexpected characters after the JSON value", p.i).message());
    }
    Ok(row)
}

const MAX_DEPTH: u32 = 128;

enum Fault {
    Syntax(&'static str, usize),
    Utf8(usize),
}

impl Fault {
    fn message(&self) -> String {
        match self {
            Fault::Syntax(what, at) => {
                format!("row is not valid JSON: {what} at column {}", at + 1)
            }
            Fault::Utf8(at) => format!(
                "row is not valid UTF-8 (bad byte at column {}); save the file as UTF-8",
                at + 1
            ),
        }
    }
}

type Result<T> = std::result::Result<T, Fault>;

/// Walks a line already checked to be UTF-8.
struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

/// The top-level keys (and `model` inside `body`) the checks read.
#[derive(PartialEq)]
enum Key {
    CustomId,
    Method,
    Url,
    Body,
    Model,
    Other,
}

impl<'a> Scanner<'a> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<()> {
        if self.peek() == Some(byte) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    /// A fault at the current byte: `what` was expected there.
    fn unexpected(&self, what: &'static str) -> Fault {
        match self.peek() {
            Some(_) => Fault::Syntax(what, self.i),
            None => Fault::Syntax("the row ends too early", self.i),
        }
    }

    fn row(&mut self) -> Result<Row<'a>> {
        self.ws();
        if self.peek() != Some(b'{') {
            return self.skip(0).map(Row::Other);
        }
        let mut req = Request::default();
        self.object(0, |p, key| {
            match key {
                Key::CustomId => req.custom_id = Some(p.scalar()?),
                Key::Method => req.method = Some(p.scalar()?),
                Key::Url => req.url = Some(p.scalar()?),
                Key::Body => req.body = Some(p.body()?),
                Key::Model | Key::Other => {
                    p.skip(1)?;
                }
            }
            Ok(())
        })?;
        Ok(Row::Object(req))
    }

    fn body(&mut self) -> Result<Body<'a>> {
        if self.peek() != Some(b'{') {
            return self.skip(1).map(Body::Other);
        }
        let mut model = None;
        self.object(1, |p, key| {
            if key == Key::Model {
                model = Some(p.scalar()?);
            } else {
                p.skip(2)?;
            }
            Ok(())
        })?;
        Ok(Body::Object { model })
    }

    fn scalar(&mut self) -> Result<Scalar<'a>> {
        if self.peek() == Some(b'"') {
            let (raw, escaped) = self.string()?;
            Ok(Scalar::Str(decode(utf8(raw), escaped)))
        } else {
            self.skip(2).map(Scalar::Other)
        }
    }

    /// Walks an object at `{`, calling `each` with the scanner positioned on every value.
    fn object(
        &mut self,
        depth: u32,
        mut each: impl FnMut(&mut Self, Key) -> Result<()>,
    ) -> Result<()> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            match self.peek() {
                Some(b'"') => {}
                Some(b'}') => return Err(Fault::Syntax("trailing comma before '}'", self.i)),
                _ => return Err(self.unexpected("expected a string key")),
            }
            let (raw, escaped) = self.string()?;
            let key = match depth {
                0 | 1 if escaped => key(depth, decode(utf8(raw), true).as_bytes()),
                0 | 1 => key(depth, raw),
                _ => Key::Other,
            };
            self.ws();
            self.expect(b':', "expected ':' after the key")?;
            self.ws();
            each(self, key)?;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.unexpected("expected ',' or '}' after an object member")),
            }
        }
    }

    /// Skips any value, returning its kind.
    fn skip(&mut self, depth: u32) -> Result<&'static str> {
        match self.peek() {
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(Fault::Syntax("nesting deeper than 128 levels", self.i));
                }
                self.object(depth.max(2), |p, _| p.skip(depth + 1).map(drop))?;
                Ok("object")
            }
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return Err(Fault::Syntax("nesting deeper than 128 levels", self.i));
                }
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok("array");
                }
                loop {
                    if self.peek() == Some(b']') {
                        return Err(Fault::Syntax("trailing comma before ']'", self.i));
                    }
                    self.skip(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => {
                            self.i += 1;
                            self.ws();
                        }
                        Some(b']') => {
                            self.i += 1;
                            return Ok("array");
                        }
                        _ => {
                            return Err(
                                self.unexpected("expected ',' or ']' after an array element")
                            )
                        }
                    }
                }
            }
            Some(b'"') => self.string().map(|_| "string"),
            Some(b't') => self.literal(b"true", "boolean"),
            Some(b'f') => self.literal(b"false", "boolean"),
            Some(b'n') => self.literal(b"null", "null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected("expected a value")),
        }
    }

    fn literal(&mut self, word: &[u8], kind: &'static str) -> Result<&'static str> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(kind)
        } else {
            Err(Fault::Syntax("expected true, false or null", self.i))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<&'static str> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.unexpected("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.unexpected("expected a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.unexpected("expected a digit in the exponent"));
            }
        }
        Ok("number")
    }

    /// Scans a string at its opening quote; returns the raw content and whether it has escapes.
    fn string(&mut self) -> Result<(&'a [u8], bool)> {
        let s = self.s;
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            while let Some(word) = s.get(j..j + 8) {
                let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
                match special_index(w) {
                    Some(k) => {
                        j += k;
                        break;
                    }
                    None => j += 8,
                }
            }
            let Some(&b) = s.get(j) else {
                return Err(Fault::Syntax("the string is not closed", self.i));
            };
            match b {
                b'"' => {
                    self.i = j + 1;
                    return Ok((&s[start..j], escaped));
                }
                b'\\' => {
                    escaped = true;
                    match s.get(j + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j += 2,
                        Some(b'u')
                            if s.get(j + 2..j + 6)
                                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                        {
                            j += 6
                        }
                        _ => return Err(Fault::Syntax("invalid escape in a string", j)),
                    }
                }
                0x00..=0x1F => {
                    return Err(Fault::Syntax(
                        "control character in a string (escape it)",
                        j,
                    ))
                }
                _ => j += 1,
            }
        }
    }
}

/// Which of the keys the checks read `name` is, at object depth 0 (the row) or 1 (`body`).
fn key(depth: u32, name: &[u8]) -> Key {
    match (depth, name) {
        (0, b"custom_id") => Key::CustomId,
        (0, b"method") => Key::Method,
        (0, b"url") => Key::Url,
        (0, b"body") => Key::Body,
        (1, b"model") => Key::Model,
        _ => Key::Other,
    }
}

/// Checks UTF-8, skipping ASCII eight bytes at a time and jumping straight to the next
/// non-ASCII byte; the error is the offset of the first bad byte.
fn check_utf8(s: &[u8]) -> std::result::Result<(), usize> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    loop {
        while let Some(word) = s.get(i..i + 8) {
            let high = u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) & HIGH;
            if high != 0 {
                i += high.trailing_zeros() as usize / 8;
                break;
            }
            i += 8;
        }
        match s.get(i) {
            None => return Ok(()),
            Some(b) if *b < 0x80 => i += 1,
            Some(_) => i += utf8_width(s, i).ok_or(i)?,
        }
    }
}

/// The length of the valid UTF-8 sequence starting at the non-ASCII byte `s[i]`, if valid.
#[inline(always)]
fn utf8_width(s: &[u8], i: usize) -> Option<usize> {
    #[inline(always)]
    fn byte(s: &[u8], at: usize) -> u8 {
        s.get(at).copied().unwrap_or(0)
    }
    // Lead byte → length and the allowed range of the second byte (which excludes overlong
    // forms, UTF-16 surrogates and code points above U+10FFFF).
    let (width, low, high) = match byte(s, i) {
        0xC2..=0xDF => (2, 0x80, 0xBF),
        0xE0 => (3, 0xA0, 0xBF),
        0xE1..=0xEC | 0xEE..=0xEF => (3, 0x80, 0xBF),
        0xED => (3, 0x80, 0x9F),
        0xF0 => (4, 0x90, 0xBF),
        0xF1..=0xF3 => (4, 0x80, 0xBF),
        0xF4 => (4, 0x80, 0x8F),
        _ => return None,
    };
    let second = byte(s, i + 1);
    // A continuation byte is 0x80..=0xBF, i.e. below -64 as a signed byte.
    let ok = second >= low
        && second <= high
        && (width < 3 || (byte(s, i + 2) as i8) < -64)
        && (width < 4 || (byte(s, i + 3) as i8) < -64);
    ok.then_some(width)
}

/// The index of the first byte of eight (little-endian) that is `"`, `\` or a control
/// character, if any. Non-ASCII bytes pass: the line's UTF-8 is checked beforehand.
#[inline(always)]
fn special_index(w: u64) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Each term sets the high bit of a matching byte; borrows can only add false positives
    // above a true match, so the lowest set bit is exact.
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mask = w.wrapping_sub(ONES * 0x20) & !w & HIGH
        | zero(w ^ (ONES * b'"' as u64))
        | zero(w ^ (ONES * b'\\' as u64));
    (mask != 0).then(|| mask.trailing_zeros() as usize / 8)
}

/// A string's content as text. The line was checked as UTF-8 and both ends of a string are
/// ASCII quotes, so this never falls back to the empty string.
fn utf8(raw: &[u8]) -> &str {
    std::str::from_utf8(raw).unwrap_or_default()
}

/// The text of a scanned string: borrowed when it has no escapes.
fn decode(text: &str, escaped: bool) -> Cow<'_, str> {
    if !escaped {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let unit = hex4(&mut chars);
                let code = if (0xD800..0xDC00).contains(&unit) {
                    let rest = chars.as_str();
                    match rest
                        .strip_prefix("\\u")
                        .map(|r| u32::from_str_radix(&r[..4], 16))
                    {
                        Some(Ok(low)) if (0xDC00..0xE000).contains(&low) => {
                            chars = rest[6..].chars();
                            0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        }
                        _ => 0xFFFD,
                    }
                } else {
                    unit
                };
                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Cow::Owned(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> u32 {
    (0..4).fold(0, |acc, _| {
        acc * 16 + chars.next().and_then(|c| c.to_digit(16)).unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn keeps_only_checked_fields_and_borrows_plain_strings() {
        let row = parse(br#"{"custom_id":"a","x":[1,{"y":2}],"body":{"model":"m","messages":[]},"method":"POST","url":"/v1/chat/completions"}"#).unwrap();
        let Row::Object(req) = row else {
            panic!("not an object")
        };
        assert_eq!(req.custom_id, Some(Scalar::Str(Cow::Borrowed("a"))));
        assert_eq!(
            req.body,
            Some(Body::Object {
                model: Some(Scalar::Str("m".into()))
            })
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn decodes_escapes_and_surrogate_pairs_and_names_wrong_kinds() {
        let Row::Object(req) =
            parse(br#"{"custom_id":"a\u00e9\ud83d\ude00\n\"","method":1,"body":[]}"#).unwrap()
        else {
            panic!("not an object")
        };
        assert_eq!(
            req.custom_id,
            Some(Scalar::Str("a\u{e9}\u{1F600}\n\"".into()))
        );
        assert_eq!(req.method, Some(Scalar::Other("number")));
        assert_eq!(req.body, Some(Body::Other("array")));
        assert_eq!(parse(b"[1]").unwrap(), Row::Other("array"));
        assert_eq!(parse(br#"  "x"  "#).unwrap(), Row::Other("string"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_model_only_directly_inside_body() {
        let Row::Object(req) = parse(br#"{"model":"top","body":{"x":{"model":"deep"}}}"#).unwrap()
        else {
            panic!("not an object")
        };
        assert_eq!(req.body, Some(Body::Object { model: None }));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_invalid_syntax_and_bytes_inside_skipped_fields() {
        for bad in [
            &br#"{"custom_id":"a","x":[1,}"#[..],
            br#"{"custom_id":"a"} trailing"#,
            b"{\"x\":\"\xff\"}",
            b"{\"x\":\"\xed\xa0\x80\"}",
            b"{\"x\":\"tab\there\"}",
            br#"{"x":01}"#,
            br#"{"x":1.}"#,
            br#"{"x":tru}"#,
            br#"{"x":"\q"}"#,
            br#"{"x":"\u12"}"#,
            br#"{"x":1,}"#,
            br#"{"x" 1}"#,
            b"",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn limits_nesting_depth() {
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(parse(deep.as_bytes()).unwrap_err().contains("nesting"));
        let ok = format!("{{\"x\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(parse(ok.as_bytes()).is_ok());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn finds_the_first_special_byte_in_any_lane() {
        for lane in 0..8 {
            for special in [b'"', b'\\', 0x1F, 0x00] {
                let mut w = [b'a'; 8];
                w[lane] = special;
                if lane < 7 {
                    w[7] = b'"';
                }
                assert_eq!(
                    special_index(u64::from_le_bytes(w)),
                    Some(lane),
                    "lane {lane} byte {special:#x}"
                );
            }
            let mut w = [b'a'; 8];
            w[lane] = 0xC3;
            assert_eq!(special_index(u64::from_le_bytes(w)), None);
        }
    }
}
