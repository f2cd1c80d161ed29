//! The worker's settings, read from `env` vars and secrets (names fixed in CONVENTIONS.md).

use crate::signature::Scheme;
use worker::Env;

/// The default body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1_048_576;

/// Reads a string binding whether it was configured as a var or as a secret.
pub fn text(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|s| s.to_string()))
        .ok()
}

/// A numeric setting; absent or unparsable → `default`.
pub fn number(env: &Env, name: &str, default: u64) -> u64 {
    text(env, name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The largest accepted webhook body (`MAX_BODY_BYTES`).
pub fn max_body_bytes(env: &Env) -> usize {
    number(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES as u64) as usize
}

/// The signature scheme for `source` from `WEBHOOK_SCHEMES` (`source=scheme …`). A source that
/// is not listed uses Standard Webhooks; a listed source with an unknown scheme name is an
/// error naming it, so a typo in the configuration is not silently read as `standard`.
pub fn scheme_for(env: &Env, source: &str) -> Result<Scheme, String> {
    let schemes = text(env, "WEBHOOK_SCHEMES").unwrap_or_default();
    for pair in schemes.split_whitespace() {
        if let Some((name, scheme)) = pair.split_once('=') {
            if name == source {
                return Scheme::from_name(scheme).ok_or_else(|| {
                    format!("WEBHOOK_SCHEMES names an unknown scheme `{scheme}` for `{source}`")
                });
            }
        }
    }
    Ok(Scheme::StandardWebhooks)
}

/// Whether the `/_test/…` routes and fault hooks are on (`BATCHHOOK_TEST_ROUTES=1`).
pub fn test_routes_enabled(env: &Env) -> bool {
    text(env, "BATCHHOOK_TEST_ROUTES").as_deref() == Some("1")
}
