//! The one error type of the signature boundary.
//!
//! Messages are built by hand (`message()`), not through `core::fmt`, so the verifier-only
//! wasm does not carry the formatting machinery; `Display` simply writes that message.

use super::encoding::{push_decimal, Base64Problem};

/// Why a webhook was refused or a secret could not be used.
///
/// Every message says what to check. None ever contains secret material, and a failed match
/// never says which secret came close.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// A header the scheme requires is absent (names are matched case-insensitively).
    MissingHeader {
        /// The header's canonical lowercase name, e.g. `webhook-signature`.
        header: &'static str,
    },
    /// A header is present but cannot be parsed.
    MalformedHeader {
        /// The header's canonical lowercase name.
        header: &'static str,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// The signed timestamp lies further in the past than the tolerance allows.
    TimestampTooOld {
        /// How many seconds before `now` the timestamp is.
        age_secs: u64,
        /// The configured tolerance.
        tolerance_secs: u64,
    },
    /// The signed timestamp lies further in the future than the tolerance allows.
    TimestampTooNew {
        /// How many seconds after `now` the timestamp is.
        ahead_secs: u64,
        /// The configured tolerance.
        tolerance_secs: u64,
    },
    /// The signature header holds signatures, but none of a version this verifier checks.
    NoSupportedSignature {
        /// The header's canonical lowercase name.
        header: &'static str,
    },
    /// No signature in the header matches the body under any configured secret.
    NoMatchingSignature,
    /// A configured secret is unusable.
    InvalidSecret {
        /// 1-based position of the secret in the configured list.
        position: usize,
        /// What is wrong with it.
        problem: SecretProblem,
    },
    /// The secret list is empty.
    NoSecrets,
}

/// What is wrong with a secret. Never carries the secret itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretProblem {
    /// Nothing after removing the `whsec_` prefix, or an empty string.
    Empty,
    /// Leading or trailing whitespace, typically a newline pasted with the secret.
    SurroundingWhitespace,
    /// Starts with `v1,`: a signature header value was pasted instead of the secret.
    PastedSignature,
    /// The secret's base64 (after the `whsec_` prefix when there is one) is malformed.
    Base64(Base64Problem),
    /// The key is shorter than [`MIN_SECRET_BYTES`](super::MIN_SECRET_BYTES).
    TooShort {
        /// Key length in bytes (after base64 decoding where that applies).
        len: usize,
        /// The minimum accepted.
        min: usize,
    },
}

impl SignatureError {
    /// A stable snake_case code for the error wire shape and the JS error's `code`.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::MissingHeader { .. } => "missing_header",
            SignatureError::MalformedHeader { .. } => "malformed_header",
            SignatureError::TimestampTooOld { .. } => "timestamp_too_old",
            SignatureError::TimestampTooNew { .. } => "timestamp_too_new",
            SignatureError::NoSupportedSignature { .. } => "no_supported_signature",
            SignatureError::NoMatchingSignature => "no_matching_signature",
            SignatureError::InvalidSecret { .. } => "invalid_secret",
            SignatureError::NoSecrets => "no_secrets",
        }
    }

    /// Whether the request (rather than the receiver's configuration) is at fault; adapters
    /// answer these with 400/401 and configuration errors with 500.
    pub fn is_request_error(&self) -> bool {
        !matches!(
            self,
            SignatureError::InvalidSecret { .. } | SignatureError::NoSecrets
        )
    }

    /// The human sentence: what failed and what to check.
    pub fn message(&self) -> String {
        let mut m = String::with_capacity(128);
        match self {
            SignatureError::MissingHeader { header } => {
                m.push_str("the ");
                m.push_str(header);
                m.push_str(" header is missing: the request is not signed for this scheme, or a proxy dropped the header");
            }
            SignatureError::MalformedHeader { header, expected } => {
                m.push_str("the ");
                m.push_str(header);
                m.push_str(" header is malformed: expected ");
                m.push_str(expected);
            }
            SignatureError::TimestampTooOld {
                age_secs,
                tolerance_secs,
            } => {
                m.push_str("the signed timestamp is ");
                push_number(&mut m, *age_secs);
                m.push_str(" seconds old, beyond the tolerance of ");
                push_number(&mut m, *tolerance_secs);
                m.push_str(" seconds: a replayed or long-delayed delivery, or a clock out of sync");
            }
            SignatureError::TimestampTooNew {
                ahead_secs,
                tolerance_secs,
            } => {
                m.push_str("the signed timestamp is ");
                push_number(&mut m, *ahead_secs);
                m.push_str(" seconds in the future, beyond the tolerance of ");
                push_number(&mut m, *tolerance_secs);
                m.push_str(" seconds: check the sender's and this server's clocks");
            }
            SignatureError::NoSupportedSignature { header } => {
                m.push_str("the ");
                m.push_str(header);
                m.push_str(" header has no signature of a supported version (v1 HMAC-SHA256)");
            }
            SignatureError::NoMatchingSignature => m.push_str(
                "no signature matched: the body, id or timestamp was changed, or the secret is wrong; \
                 verify the raw request bytes, never re-serialised JSON",
            ),
            SignatureError::InvalidSecret { position, problem } => {
                m.push_str("secret #");
                push_number(&mut m, *position as u64);
                m.push_str(" is unusable: ");
                push_secret_problem(&mut m, problem);
            }
            SignatureError::NoSecrets => {
                m.push_str("no webhook secret is configured: give at least one")
            }
        }
        m
    }
}

fn push_secret_problem(m: &mut String, problem: &SecretProblem) {
    match problem {
        SecretProblem::Empty => m.push_str("it is empty"),
        SecretProblem::SurroundingWhitespace => {
            m.push_str("it has leading or trailing whitespace (a pasted newline?)")
        }
        SecretProblem::PastedSignature => m.push_str(
            "it starts with \"v1,\", which is a signature header value, not the signing secret",
        ),
        SecretProblem::Base64(p) => {
            m.push_str("the secret's base64 (after any \"whsec_\" prefix) ");
            match p {
                Base64Problem::InvalidCharacter(at) => {
                    m.push_str("has an invalid character at offset ");
                    push_number(m, *at as u64);
                }
                Base64Problem::UrlSafeAlphabet(at) => {
                    m.push_str("uses the URL-safe alphabet ('-' or '_') at offset ");
                    push_number(m, *at as u64);
                    m.push_str("; secrets use the standard alphabet's '+' and '/'");
                }
                Base64Problem::BadPadding => m.push_str("has wrong '=' padding"),
                Base64Problem::BadLength => m.push_str("has an impossible length (truncated?)"),
                Base64Problem::NonCanonical => {
                    m.push_str("does not end canonically (truncated or altered?)")
                }
            }
        }
        SecretProblem::TooShort { len, min } => {
            m.push_str("the key is ");
            push_number(m, *len as u64);
            m.push_str(" bytes long; at least ");
            push_number(m, *min as u64);
            m.push_str(" bytes are required");
        }
    }
}

/// Appends the decimal form of `n`.
fn push_number(m: &mut String, n: u64) {
    let mut digits = Vec::new();
    push_decimal(&mut digits, n);
    m.extend(digits.into_iter().map(char::from));
}

impl core::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for SignatureError {}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn timestamp_messages_state_the_offset_and_tolerance() {
        let old = SignatureError::TimestampTooOld {
            age_secs: 412,
            tolerance_secs: 300,
        };
        assert!(old.message().contains("412 seconds old"));
        assert!(old.message().contains("300 seconds"));
        assert_eq!(old.code(), "timestamp_too_old");
        let new = SignatureError::TimestampTooNew {
            ahead_secs: 9,
            tolerance_secs: 5,
        };
        assert!(new.message().contains("9 seconds in the future"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn secret_errors_name_the_position_and_problem() {
        let e = SignatureError::InvalidSecret {
            position: 2,
            problem: SecretProblem::TooShort { len: 3, min: 24 },
        };
        assert_eq!(
            e.message(),
            "secret #2 is unusable: the key is 3 bytes long; at least 24 bytes are required"
        );
        assert!(!e.is_request_error());
        assert!(SignatureError::NoMatchingSignature.is_request_error());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn display_writes_the_message() {
        let e = SignatureError::MissingHeader {
            header: "webhook-id",
        };
        assert_eq!(e.to_string(), e.message());
        assert!(e
            .to_string()
            .starts_with("the webhook-id header is missing"));
    }
}
