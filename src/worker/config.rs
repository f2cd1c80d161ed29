//! The worker's settings, read from `env` vars and secrets (names fixed in CONVENTIONS.md).

use crate::reconcile::Schedule;
use crate::signature::Scheme;
use crate::worker::transport::FetchTransport;
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

/// The gateway (`GATEWAY_URL`), called with the worker's key (`GATEWAY_API_KEY`).
pub fn gateway(env: &Env) -> FetchTransport {
    FetchTransport::new(
        text(env, "GATEWAY_URL").unwrap_or_default(),
        text(env, "GATEWAY_API_KEY"),
    )
}

/// The poll schedule from `POLL_MIN_MS`/`POLL_MAX_MS` (core defaults when unset).
pub fn poll_schedule(env: &Env) -> Schedule {
    let default = Schedule::default();
    Schedule::from_millis(
        number(env, "POLL_MIN_MS", default.min.as_millis() as u64),
        number(env, "POLL_MAX_MS", default.max.as_millis() as u64),
    )
}

/// The signature scheme for `source` in `schemes` (`WEBHOOK_SCHEMES`: `source=scheme …`). A
/// source that is not listed uses Standard Webhooks; a listed source with an unknown scheme
/// name is an error naming it, so a typo in the configuration is not silently read as
/// `standard`.
fn scheme_in(schemes: &str, source: &str) -> Result<Scheme, String> {
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

/// The intake's settings, read from `env` once per isolate rather than once per delivery
/// (each binding read crosses into JS and converts a string; at ingest rates that showed up
/// as ~3 % of the Worker's CPU profile).
pub struct Intake {
    /// `MAX_BODY_BYTES`.
    pub max_body: usize,
    /// `WEBHOOK_SCHEMES`, as configured.
    schemes: String,
    /// `WEBHOOK_SECRETS`, as configured (never logged).
    pub secrets: Option<String>,
    /// `BATCHHOOK_TEST_ROUTES=1`.
    pub test_routes: bool,
}

impl Intake {
    fn read(env: &Env) -> Intake {
        Intake {
            max_body: max_body_bytes(env),
            schemes: text(env, "WEBHOOK_SCHEMES").unwrap_or_default(),
            secrets: text(env, "WEBHOOK_SECRETS"),
            test_routes: test_routes_enabled(env),
        }
    }

    /// The scheme for `source` (see `scheme_in`).
    pub fn scheme_for(&self, source: &str) -> Result<Scheme, String> {
        scheme_in(&self.schemes, source)
    }
}

thread_local! {
    /// The `env` object the cached settings were read from, and the settings.
    static INTAKE: std::cell::RefCell<Option<(wasm_bindgen::JsValue, std::rc::Rc<Intake>)>> =
        const { std::cell::RefCell::new(None) };
}

/// The intake settings of `env`: cached for as long as the runtime hands the same `env` object
/// (an isolate's bindings do not change while it lives); a different object is read afresh.
pub fn intake(env: &Env) -> std::rc::Rc<Intake> {
    let key: &wasm_bindgen::JsValue = env.as_ref();
    INTAKE.with(|cell| {
        if let Some((seen, settings)) = cell.borrow().as_ref() {
            if js_sys::Object::is(seen, key) {
                return settings.clone();
            }
        }
        let settings = std::rc::Rc::new(Intake::read(env));
        *cell.borrow_mut() = Some((key.clone(), settings.clone()));
        settings
    })
}
