//! Who may call the operator API, and from which browser origins.
//!
//! - [`Tokens`] reads `API_TOKENS` (space-separated `token:workspace` pairs) and turns an
//!   `Authorization: Bearer …` header into the caller's [`Workspace`]. Tokens are compared by
//!   their SHA-256 digests in constant time, and every configured token is always compared, so
//!   neither the position nor the length of a matching token shows in the timing.
//! - Every stored batch belongs to at most one workspace; [`visible`] is the one scoping rule
//!   (another workspace's batch is answered as if it did not exist).
//! - [`Origins`] reads `ALLOWED_ORIGINS` and [`Origins::decide`] answers a request's `Origin`
//!   (including `OPTIONS` preflights) with the CORS headers to add or a refusal.
//!
//! Tokens never appear in `Debug` output or error messages.

use sha2::{Digest, Sha256};

/// Shortest accepted API token, in bytes: shorter ones are guessable.
pub const MIN_TOKEN_LEN: usize = 16;

/// A workspace name: the unit that owns batches, results, dead letters and event streams.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Workspace(String);

impl Workspace {
    /// A workspace from its name; names are 1..=64 characters of `[A-Za-z0-9_.-]`.
    pub fn new(name: &str) -> Result<Workspace, TokenConfigError> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if valid {
            Ok(Workspace(name.to_owned()))
        } else {
            Err(TokenConfigError::BadWorkspace {
                name: name.to_owned(),
            })
        }
    }

    /// The workspace's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a record stored under `owner` is visible to `workspace`: a workspace sees what it
/// owns, and a record no workspace owns (first seen through a webhook, never created through
/// the API) is seen by the operator workspace ([`Tokens::operator`]) only. The batch index's
/// list query applies the same rule in SQL.
pub fn visible(owner: Option<&str>, workspace: &str, operator: bool) -> bool {
    match owner {
        Some(owner) => owner == workspace,
        None => operator,
    }
}

impl core::fmt::Display for Workspace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why `API_TOKENS` could not be read. Messages name the pair by position, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenConfigError {
    /// A pair has no `:` separating token and workspace.
    MissingSeparator {
        /// 1-based position of the pair.
        position: usize,
    },
    /// A token is shorter than [`MIN_TOKEN_LEN`].
    TokenTooShort {
        /// 1-based position of the pair.
        position: usize,
    },
    /// A workspace name is empty or has characters outside `[A-Za-z0-9_.-]`.
    BadWorkspace {
        /// The name given.
        name: String,
    },
    /// The same token appears twice.
    DuplicateToken {
        /// 1-based position of the second occurrence.
        position: usize,
    },
}

impl core::fmt::Display for TokenConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TokenConfigError::MissingSeparator { position } => write!(
                f,
                "API_TOKENS pair {position} has no ':'; write each pair as token:workspace"
            ),
            TokenConfigError::TokenTooShort { position } => write!(
                f,
                "API_TOKENS pair {position} has a token shorter than {MIN_TOKEN_LEN} bytes; use a long random token"
            ),
            TokenConfigError::BadWorkspace { name } => write!(
                f,
                "workspace name {name:?} must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '-' or '.'"
            ),
            TokenConfigError::DuplicateToken { position } => write!(
                f,
                "API_TOKENS pair {position} repeats a token already listed; each token belongs to one workspace"
            ),
        }
    }
}

impl std::error::Error for TokenConfigError {}

/// Why a request was not authenticated (all answered 401).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// The header is not `Bearer <token>`.
    NotBearer,
    /// The token is not configured (or no token is configured at all).
    Unknown,
}

impl AuthError {
    /// A stable snake_case code for the error envelope.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing_token",
            AuthError::NotBearer => "malformed_authorization",
            AuthError::Unknown => "invalid_token",
        }
    }
}

impl core::fmt::Display for AuthError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AuthError::Missing => f.write_str(
                "this route needs an API token: send `Authorization: Bearer <token>` (tokens come from API_TOKENS)",
            ),
            AuthError::NotBearer => {
                f.write_str("the Authorization header must be `Bearer <token>`")
            }
            AuthError::Unknown => f.write_str("the API token is not valid"),
        }
    }
}

impl std::error::Error for AuthError {}

/// The configured API tokens, each mapped to its workspace. Only digests are kept.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<([u8; 32], Workspace)>,
}

impl core::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let workspaces: Vec<&str> = self.entries.iter().map(|(_, w)| w.as_str()).collect();
        f.debug_struct("Tokens")
            .field("tokens", &"[REDACTED]")
            .field("workspaces", &workspaces)
            .finish()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Compares two digests without an early exit.
fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    /// Parses `API_TOKENS`: pairs separated by any whitespace, each `token:workspace` (the last
    /// `:` separates, so a token may itself contain `:`). An empty value means no token, so
    /// every request is refused.
    pub fn parse(raw: &str) -> Result<Tokens, TokenConfigError> {
        let mut tokens = Tokens::default();
        for (index, pair) in raw.split_whitespace().enumerate() {
            let position = index + 1;
            let (token, workspace) = pair
                .rsplit_once(':')
                .ok_or(TokenConfigError::MissingSeparator { position })?;
            if token.len() < MIN_TOKEN_LEN {
                return Err(TokenConfigError::TokenTooShort { position });
            }
            let workspace = Workspace::new(workspace)?;
            let hash = digest(token.as_bytes());
            if tokens.entries.iter().any(|(h, _)| *h == hash) {
                return Err(TokenConfigError::DuplicateToken { position });
            }
            tokens.entries.push((hash, workspace));
        }
        Ok(tokens)
    }

    /// How many tokens are configured.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The workspace of a bearer token, comparing against every configured token.
    pub fn lookup(&self, token: &str) -> Option<&Workspace> {
        let wanted = digest(token.as_bytes());
        let mut found = None;
        for (hash, workspace) in &self.entries {
            if digests_equal(hash, &wanted) {
                found = Some(workspace);
            }
        }
        found
    }

    /// The operator workspace: the first configured one, which also sees dead letters no
    /// batch claims.
    pub fn operator(&self) -> Option<&Workspace> {
        self.entries.first().map(|(_, workspace)| workspace)
    }

    /// Authenticates an `Authorization` header value (`Bearer <token>`, scheme
    /// case-insensitive).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Workspace, AuthError> {
        let header = authorization.ok_or(AuthError::Missing)?.trim();
        let (scheme, token) = header.split_once(' ').ok_or(AuthError::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::NotBearer);
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::NotBearer);
        }
        self.lookup(token).cloned().ok_or(AuthError::Unknown)
    }
}

/// The browser origins allowed to call the API (`ALLOWED_ORIGINS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origins {
    any: bool,
    list: Vec<String>,
}

/// What to do with a request's `Origin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsDecision {
    /// No `Origin` header (not a browser cross-origin call): no CORS headers.
    NotCors,
    /// Allowed: add these headers to the response; for a preflight, answer 204 with them.
    Allow(Vec<(String, String)>),
    /// The origin is not allowed: answer 403 and add no CORS headers.
    Reject {
        /// The refused origin, for the message.
        origin: String,
    },
}

/// Methods the API answers to, announced in preflights.
const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";
/// Request headers the API reads, announced in preflights.
const ALLOWED_HEADERS: &str = "authorization, content-type, idempotency-key";
/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

impl Origins {
    /// Parses `ALLOWED_ORIGINS`: origins separated by spaces or commas, compared exactly after
    /// dropping a trailing `/` and lower-casing (e.g. `https://ops.example.com`); `*` allows
    /// every origin. Empty means no cross-origin caller is allowed.
    pub fn parse(raw: &str) -> Origins {
        let mut origins = Origins::default();
        for item in raw.split(|c: char| c == ',' || c.is_whitespace()) {
            let item = normalize_origin(item);
            if item.is_empty() {
                continue;
            }
            if item == "*" {
                origins.any = true;
            } else if !origins.list.contains(&item) {
                origins.list.push(item);
            }
        }
        origins
    }

    /// Whether `origin` is allowed; the API's own origin (`self_origin`, where the page is
    /// served from) always is.
    pub fn allows(&self, origin: &str, self_origin: Option<&str>) -> bool {
        let origin = normalize_origin(origin);
        self.any
            || self_origin.is_some_and(|own| normalize_origin(own) == origin)
            || self.list.contains(&origin)
    }

    /// Decides a request: `origin` is its `Origin` header, `self_origin` the API's own origin,
    /// `preflight` whether it is an `OPTIONS` request carrying
    /// `Access-Control-Request-Method`.
    pub fn decide(
        &self,
        origin: Option<&str>,
        self_origin: Option<&str>,
        preflight: bool,
    ) -> CorsDecision {
        let Some(origin) = origin else {
            return CorsDecision::NotCors;
        };
        if !self.allows(origin, self_origin) {
            return CorsDecision::Reject {
                origin: origin.to_owned(),
            };
        }
        let mut headers = vec![
            ("access-control-allow-origin".to_owned(), origin.to_owned()),
            ("vary".to_owned(), "Origin".to_owned()),
        ];
        if preflight {
            headers.push((
                "access-control-allow-methods".to_owned(),
                ALLOWED_METHODS.to_owned(),
            ));
            headers.push((
                "access-control-allow-headers".to_owned(),
                ALLOWED_HEADERS.to_owned(),
            ));
            headers.push((
                "access-control-max-age".to_owned(),
                PREFLIGHT_MAX_AGE.to_owned(),
            ));
        }
        CorsDecision::Allow(headers)
    }
}

fn normalize_origin(raw: &str) -> String {
    raw.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    const A: &str = "tok_aaaaaaaaaaaaaaaa";
    const B: &str = "tok_bbbbbbbbbbbbbbbb";

    fn tokens() -> Tokens {
        Tokens::parse(&format!("{A}:alpha  {B}:beta\n")).unwrap()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn names_the_first_configured_workspace_the_operator() {
        assert_eq!(tokens().operator().map(Workspace::as_str), Some("alpha"));
        let reversed = Tokens::parse(&format!("{B}:beta {A}:alpha")).unwrap();
        assert_eq!(reversed.operator().map(Workspace::as_str), Some("beta"));
        assert_eq!(Tokens::parse("").unwrap().operator(), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn maps_each_token_to_its_workspace() {
        let t = tokens();
        assert_eq!(t.len(), 2);
        assert_eq!(
            t.authenticate(Some(&format!("Bearer {A}")))
                .unwrap()
                .as_str(),
            "alpha"
        );
        assert_eq!(
            t.authenticate(Some(&format!("bearer  {B} ")))
                .unwrap()
                .as_str(),
            "beta"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_missing_malformed_and_unknown_tokens() {
        let t = tokens();
        assert_eq!(t.authenticate(None), Err(AuthError::Missing));
        assert_eq!(t.authenticate(Some(A)), Err(AuthError::NotBearer));
        assert_eq!(
            t.authenticate(Some(&format!("Basic {A}"))),
            Err(AuthError::NotBearer)
        );
        assert_eq!(t.authenticate(Some("Bearer ")), Err(AuthError::NotBearer));
        assert_eq!(
            t.authenticate(Some("Bearer tok_aaaaaaaaaaaaaaab")),
            Err(AuthError::Unknown)
        );
        assert_eq!(
            t.authenticate(Some(&format!("Bearer {A}x"))),
            Err(AuthError::Unknown)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_every_token_when_none_is_configured() {
        let t = Tokens::parse("  ").unwrap();
        assert!(t.is_empty());
        assert_eq!(
            t.authenticate(Some(&format!("Bearer {A}"))),
            Err(AuthError::Unknown)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn splits_on_the_last_colon_so_tokens_may_contain_colons() {
        let t = Tokens::parse("abc:def:ghijklmnopqrs:ops").unwrap();
        assert_eq!(t.lookup("abc:def:ghijklmnopqrs").unwrap().as_str(), "ops");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn explains_each_configuration_mistake_without_the_token() {
        let cases = [
            (
                "tok_aaaaaaaaaaaaaaaa",
                TokenConfigError::MissingSeparator { position: 1 },
            ),
            (
                "tok_aaaaaaaaaaaaaaaa:a short:b",
                TokenConfigError::TokenTooShort { position: 2 },
            ),
            (
                "tok_aaaaaaaaaaaaaaaa:bad/ws",
                TokenConfigError::BadWorkspace {
                    name: "bad/ws".into(),
                },
            ),
            (
                "tok_aaaaaaaaaaaaaaaa:a tok_aaaaaaaaaaaaaaaa:b",
                TokenConfigError::DuplicateToken { position: 2 },
            ),
            (
                "tok_aaaaaaaaaaaaaaaa:",
                TokenConfigError::BadWorkspace { name: "".into() },
            ),
        ];
        for (raw, expected) in cases {
            let err = Tokens::parse(raw).unwrap_err();
            assert_eq!(err, expected, "{raw}");
            assert!(!err.to_string().contains("tok_aaaa"), "{err}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn never_prints_tokens_in_debug() {
        let shown = format!("{:?}", tokens());
        assert!(!shown.contains("tok_"), "{shown}");
        assert!(shown.contains("alpha"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn scopes_records_to_their_own_workspace_and_unowned_ones_to_the_operator() {
        for operator in [false, true] {
            assert!(visible(Some("alpha"), "alpha", operator));
            assert!(!visible(Some("beta"), "alpha", operator));
        }
        assert!(!visible(None, "alpha", false));
        assert!(visible(None, "ops", true));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn allows_listed_and_own_origins_and_rejects_others() {
        let origins = Origins::parse("https://ops.example.com/, http://localhost:5173");
        let own = Some("http://127.0.0.1:8787");
        assert_eq!(origins.decide(None, own, false), CorsDecision::NotCors);
        match origins.decide(Some("HTTPS://ops.example.com"), own, false) {
            CorsDecision::Allow(headers) => {
                assert!(headers.contains(&(
                    "access-control-allow-origin".into(),
                    "HTTPS://ops.example.com".into()
                )));
                assert!(!headers
                    .iter()
                    .any(|(k, _)| k == "access-control-allow-methods"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            origins.decide(Some("http://127.0.0.1:8787"), own, false),
            CorsDecision::Allow(_)
        ));
        assert_eq!(
            origins.decide(Some("https://evil.example"), own, true),
            CorsDecision::Reject {
                origin: "https://evil.example".into()
            }
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn answers_a_preflight_with_methods_headers_and_max_age() {
        let CorsDecision::Allow(headers) =
            Origins::parse("*").decide(Some("https://any.example"), None, true)
        else {
            panic!("a wildcard allows every origin");
        };
        let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names.contains(&"access-control-allow-methods"));
        assert!(names.contains(&"access-control-allow-headers"));
        assert!(names.contains(&"access-control-max-age"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_every_foreign_origin_when_none_is_configured() {
        let origins = Origins::parse("");
        assert!(matches!(
            origins.decide(Some("https://ops.example.com"), None, false),
            CorsDecision::Reject { .. }
        ));
    }
}
