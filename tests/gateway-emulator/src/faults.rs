//! Fault knobs. Each can be set globally (`POST /_admin/faults`, a JSON object of knob → value)
//! or per batch (batch `metadata` keys `emulator.<knob>`, string values as metadata requires).
//! A batch's own knob wins over the global one; an unset knob falls back to its default.

use batchhook::signature::Scheme;
use serde_json::{Map, Value};

/// The prefix of per-batch knobs in batch metadata.
pub const METADATA_PREFIX: &str = "emulator.";

/// A set of knobs, each unset (`None`) unless given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Share of webhook deliveries never sent at all (no attempt, no retry).
    pub drop_rate: Option<f64>,
    /// Every webhook request is sent this many times in a row (same id, body and signature).
    pub duplicate: Option<u32>,
    /// Hold a batch's deliveries until it is terminal, then send them newest first.
    pub reorder: Option<bool>,
    /// Real milliseconds to wait before each webhook request.
    pub delay_ms: Option<u64>,
    /// Share of webhook attempts signed with a wrong secret.
    pub wrong_secret_rate: Option<f64>,
    /// Share of API calls answered 503.
    pub api_5xx_rate: Option<f64>,
    /// Share of API calls answered 429 with `Retry-After`.
    pub api_429_rate: Option<f64>,
    /// The `Retry-After` seconds sent with injected 429s.
    pub retry_after_s: Option<u64>,
    /// Make the batch fail upstream: `validating` or `in_progress` (halfway).
    pub fail: Option<FailAt>,
    /// Make the batch stall halfway and expire: at its completion window, or after this many
    /// emulated seconds.
    pub expire: Option<Expire>,
    /// Emulated seconds the in_progress phase lasts (default: 10 s + 10 ms per row).
    pub run_s: Option<f64>,
    /// Real milliseconds a webhook request may take before it counts as timed out.
    pub webhook_timeout_ms: Option<u64>,
    /// Attempts per delivery, the first included.
    pub max_attempts: Option<u32>,
    /// Emulated seconds before the first retry; each later retry waits 4× longer.
    pub retry_base_s: Option<f64>,
    /// Send OpenAI-style thin events (`data: {"id": …}` only) instead of full ones.
    pub thin_events: Option<bool>,
    /// Signature scheme of deliveries: `standard` (default), `stripe` or `github`.
    pub scheme: Option<Scheme>,
}

/// Where an injected upstream failure happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FailAt {
    /// While validating the input: the batch never starts.
    Validating,
    /// Halfway through the rows.
    InProgress,
}

/// When an injected expiry happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expire {
    /// At the batch's completion window.
    AtWindow,
    /// This many emulated seconds after creation.
    AfterSeconds(f64),
}

/// The knob names, for error messages and `GET /_admin/faults`.
pub const KNOBS: &[&str] = &[
    "drop_rate",
    "duplicate",
    "reorder",
    "delay_ms",
    "wrong_secret_rate",
    "api_5xx_rate",
    "api_429_rate",
    "retry_after_s",
    "fail",
    "expire",
    "run_s",
    "webhook_timeout_ms",
    "max_attempts",
    "retry_base_s",
    "thin_events",
    "scheme",
];

impl Faults {
    /// Parses the global knobs from a JSON object (numbers, booleans or strings).
    pub fn from_json(v: &Value) -> Result<Faults, String> {
        let obj = v
            .as_object()
            .ok_or("faults must be a JSON object of knob → value")?;
        let mut f = Faults::default();
        for (k, v) in obj {
            f.set(k, v)?;
        }
        Ok(f)
    }

    /// Parses the per-batch knobs from metadata keys starting with `emulator.`; other keys are
    /// ordinary metadata and ignored here.
    pub fn from_metadata(meta: &Map<String, Value>) -> Result<Faults, String> {
        let mut f = Faults::default();
        for (k, v) in meta {
            if let Some(knob) = k.strip_prefix(METADATA_PREFIX) {
                f.set(knob, v)?;
            }
        }
        Ok(f)
    }

    fn set(&mut self, knob: &str, v: &Value) -> Result<(), String> {
        match knob {
            "drop_rate" => self.drop_rate = Some(rate(knob, v)?),
            "duplicate" => self.duplicate = Some(int(knob, v)?.max(1) as u32),
            "reorder" => self.reorder = Some(boolean(knob, v)?),
            "delay_ms" => self.delay_ms = Some(int(knob, v)?),
            "wrong_secret_rate" => self.wrong_secret_rate = Some(rate(knob, v)?),
            "api_5xx_rate" => self.api_5xx_rate = Some(rate(knob, v)?),
            "api_429_rate" => self.api_429_rate = Some(rate(knob, v)?),
            "retry_after_s" => self.retry_after_s = Some(int(knob, v)?),
            "fail" => {
                self.fail = match text(v).as_str() {
                    "validating" => Some(FailAt::Validating),
                    "in_progress" | "true" => Some(FailAt::InProgress),
                    "false" | "" => None,
                    other => {
                        return Err(format!(
                        "knob `fail` must be `validating`, `in_progress` or `true`, not `{other}`"
                    ))
                    }
                }
            }
            "expire" => {
                self.expire = match text(v).as_str() {
                    "true" => Some(Expire::AtWindow),
                    "false" | "" => None,
                    s => Some(Expire::AfterSeconds(s.parse::<f64>().map_err(|_| {
                        format!("knob `expire` must be `true` or a number of seconds, not `{s}`")
                    })?)),
                }
            }
            "run_s" => self.run_s = Some(number(knob, v)?.max(0.0)),
            "webhook_timeout_ms" => self.webhook_timeout_ms = Some(int(knob, v)?.max(1)),
            "max_attempts" => self.max_attempts = Some(int(knob, v)?.clamp(1, 100) as u32),
            "retry_base_s" => self.retry_base_s = Some(number(knob, v)?.max(0.0)),
            "thin_events" => self.thin_events = Some(boolean(knob, v)?),
            "scheme" => {
                let name = text(v);
                self.scheme = Some(Scheme::from_name(&name).ok_or_else(|| {
                    format!("knob `scheme` must be `standard`, `stripe` or `github`, not `{name}`")
                })?)
            }
            other => {
                return Err(format!(
                    "unknown fault knob `{other}`; known knobs: {}",
                    KNOBS.join(", ")
                ))
            }
        }
        Ok(())
    }

    /// This set with every unset knob taken from `fallback`.
    pub fn or(&self, fallback: &Faults) -> Faults {
        Faults {
            drop_rate: self.drop_rate.or(fallback.drop_rate),
            duplicate: self.duplicate.or(fallback.duplicate),
            reorder: self.reorder.or(fallback.reorder),
            delay_ms: self.delay_ms.or(fallback.delay_ms),
            wrong_secret_rate: self.wrong_secret_rate.or(fallback.wrong_secret_rate),
            api_5xx_rate: self.api_5xx_rate.or(fallback.api_5xx_rate),
            api_429_rate: self.api_429_rate.or(fallback.api_429_rate),
            retry_after_s: self.retry_after_s.or(fallback.retry_after_s),
            fail: self.fail.or(fallback.fail),
            expire: self.expire.or(fallback.expire),
            run_s: self.run_s.or(fallback.run_s),
            webhook_timeout_ms: self.webhook_timeout_ms.or(fallback.webhook_timeout_ms),
            max_attempts: self.max_attempts.or(fallback.max_attempts),
            retry_base_s: self.retry_base_s.or(fallback.retry_base_s),
            thin_events: self.thin_events.or(fallback.thin_events),
            scheme: self.scheme.or(fallback.scheme),
        }
    }

    /// The knobs as JSON, only those set.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        put("drop_rate", self.drop_rate.map(Value::from));
        put("duplicate", self.duplicate.map(Value::from));
        put("reorder", self.reorder.map(Value::from));
        put("delay_ms", self.delay_ms.map(Value::from));
        put("wrong_secret_rate", self.wrong_secret_rate.map(Value::from));
        put("api_5xx_rate", self.api_5xx_rate.map(Value::from));
        put("api_429_rate", self.api_429_rate.map(Value::from));
        put("retry_after_s", self.retry_after_s.map(Value::from));
        put(
            "fail",
            self.fail.map(|f| {
                Value::from(match f {
                    FailAt::Validating => "validating",
                    FailAt::InProgress => "in_progress",
                })
            }),
        );
        put(
            "expire",
            self.expire.map(|e| match e {
                Expire::AtWindow => Value::from(true),
                Expire::AfterSeconds(s) => Value::from(s),
            }),
        );
        put("run_s", self.run_s.map(Value::from));
        put(
            "webhook_timeout_ms",
            self.webhook_timeout_ms.map(Value::from),
        );
        put("max_attempts", self.max_attempts.map(Value::from));
        put("retry_base_s", self.retry_base_s.map(Value::from));
        put("thin_events", self.thin_events.map(Value::from));
        put("scheme", self.scheme.map(|s| Value::from(s.name())));
        Value::Object(m)
    }

    /// Share of deliveries dropped.
    pub fn drop_rate(&self) -> f64 {
        self.drop_rate.unwrap_or(0.0)
    }
    /// Copies of each webhook request.
    pub fn duplicate(&self) -> u32 {
        self.duplicate.unwrap_or(1)
    }
    /// Whether deliveries are held and sent newest first.
    pub fn reorder(&self) -> bool {
        self.reorder.unwrap_or(false)
    }
    /// Delay before each webhook request, real ms.
    pub fn delay_ms(&self) -> u64 {
        self.delay_ms.unwrap_or(0)
    }
    /// Share of attempts signed with a wrong secret.
    pub fn wrong_secret_rate(&self) -> f64 {
        self.wrong_secret_rate.unwrap_or(0.0)
    }
    /// Share of API calls answered 503.
    pub fn api_5xx_rate(&self) -> f64 {
        self.api_5xx_rate.unwrap_or(0.0)
    }
    /// Share of API calls answered 429.
    pub fn api_429_rate(&self) -> f64 {
        self.api_429_rate.unwrap_or(0.0)
    }
    /// `Retry-After` for injected 429s.
    pub fn retry_after_s(&self) -> u64 {
        self.retry_after_s.unwrap_or(1)
    }
    /// Webhook request timeout, real ms.
    pub fn webhook_timeout_ms(&self) -> u64 {
        self.webhook_timeout_ms.unwrap_or(5_000)
    }
    /// Attempts per delivery.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.unwrap_or(6)
    }
    /// First retry delay, emulated seconds.
    pub fn retry_base_s(&self) -> f64 {
        self.retry_base_s.unwrap_or(5.0)
    }
    /// Whether events are thin.
    pub fn thin_events(&self) -> bool {
        self.thin_events.unwrap_or(false)
    }
    /// The signature scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme.unwrap_or(Scheme::StandardWebhooks)
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_ascii_lowercase(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn number(knob: &str, v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
    .ok_or_else(|| format!("knob `{knob}` must be a number, not {v}"))
}

fn rate(knob: &str, v: &Value) -> Result<f64, String> {
    let r = number(knob, v)?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("knob `{knob}` is a share between 0 and 1, not {r}"))
    }
}

fn int(knob: &str, v: &Value) -> Result<u64, String> {
    let n = number(knob, v)?;
    if n >= 0.0 && n.fract() == 0.0 {
        Ok(n as u64)
    } else {
        Err(format!("knob `{knob}` must be a whole number ≥ 0, not {n}"))
    }
}

fn boolean(knob: &str, v: &Value) -> Result<bool, String> {
    match text(v).as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("knob `{knob}` must be true or false, not {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_knobs_are_read_from_strings() {
        let meta = json!({"job": "x", "emulator.drop_rate": "0.5", "emulator.fail": "validating"});
        let f = Faults::from_metadata(meta.as_object().unwrap()).unwrap();
        assert_eq!(f.drop_rate, Some(0.5));
        assert_eq!(f.fail, Some(FailAt::Validating));
    }

    #[test]
    fn rejects_unknown_knob_with_the_list_of_known_ones() {
        let err = Faults::from_json(&json!({"drop": 1})).unwrap_err();
        assert!(err.contains("drop_rate"), "{err}");
    }

    #[test]
    fn rejects_rates_outside_zero_to_one() {
        assert!(Faults::from_json(&json!({"drop_rate": 1.5})).is_err());
    }

    #[test]
    fn reads_the_signature_scheme_by_name() {
        let f = Faults::from_json(&json!({"scheme": "stripe", "thin_events": true})).unwrap();
        assert_eq!((f.scheme(), f.thin_events()), (Scheme::Stripe, true));
        assert!(Faults::from_json(&json!({"scheme": "rot13"})).is_err());
    }

    #[test]
    fn batch_knobs_win_over_global_ones() {
        let batch = Faults::from_json(&json!({"duplicate": 3})).unwrap();
        let global = Faults::from_json(&json!({"duplicate": 5, "reorder": true})).unwrap();
        let eff = batch.or(&global);
        assert_eq!((eff.duplicate(), eff.reorder()), (3, true));
    }
}
