//! Idempotent batch creation: the same workspace repeating a create with the same
//! `Idempotency-Key` header, or the same `metadata.client_job_id`, gets the same batch.
//!
//! The key is scoped to the workspace (two workspaces may use the same key independently) and
//! stored as a digest. A create first *reserves* its key, then creates the batch upstream, then
//! *commits* the batch id. [`decide`] answers a repeat:
//! - committed, same request → replay the stored batch;
//! - committed or reserved with a different request body → conflict (the key was reused for
//!   another request, which is a client bug worth reporting rather than silently ignoring);
//! - reserved, not committed, lease still running → conflict "in progress, retry";
//! - reserved and the lease ran out (the creating worker died) → reserve again. The key is
//!   also forwarded to the gateway, so a create that did reach it is not repeated there.
//!
//! When both a header and `client_job_id` are given, the header wins.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::access::Workspace;

/// The metadata field read as a client-chosen job id.
pub const CLIENT_JOB_ID_FIELD: &str = "client_job_id";
/// Longest accepted key, in bytes.
pub const MAX_KEY_LEN: usize = 255;
/// How long a reservation blocks repeats before it is presumed abandoned, in milliseconds.
pub const DEFAULT_LEASE_MS: i64 = 60_000;

/// Where a key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// The `Idempotency-Key` request header.
    Header,
    /// `metadata.client_job_id` in the create body.
    ClientJobId,
}

/// A workspace-scoped idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Hex SHA-256 of workspace, source and value: the storage key.
    pub storage_key: String,
    /// Where the key came from.
    pub source: KeySource,
    /// The key as the client gave it (forwarded to the gateway).
    pub value: String,
}

/// Why a key was refused (HTTP 400).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// Empty, longer than [`MAX_KEY_LEN`] or not visible ASCII.
    Invalid {
        /// Where the key came from.
        source: KeySource,
    },
}

impl core::fmt::Display for KeyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let KeyError::Invalid { source } = self;
        let what = match source {
            KeySource::Header => "the Idempotency-Key header",
            KeySource::ClientJobId => "metadata.client_job_id",
        };
        write!(
            f,
            "{what} must be 1 to {MAX_KEY_LEN} visible ASCII characters (e.g. a UUID)"
        )
    }
}

impl std::error::Error for KeyError {}

/// Reads the idempotency key of a create request, if it has one.
pub fn key(
    workspace: &Workspace,
    header: Option<&str>,
    metadata: Option<&Map<String, Value>>,
) -> Result<Option<IdempotencyKey>, KeyError> {
    let (source, value) = match (header, metadata.and_then(|m| m.get(CLIENT_JOB_ID_FIELD))) {
        (Some(header), _) => (KeySource::Header, header.trim()),
        (None, Some(Value::String(id))) => (KeySource::ClientJobId, id.as_str()),
        (None, Some(_)) => {
            return Err(KeyError::Invalid {
                source: KeySource::ClientJobId,
            })
        }
        (None, None) => return Ok(None),
    };
    let valid = !value.is_empty()
        && value.len() <= MAX_KEY_LEN
        && value.bytes().all(|b| b.is_ascii_graphic());
    if !valid {
        return Err(KeyError::Invalid { source });
    }
    let tag = match source {
        KeySource::Header => "header",
        KeySource::ClientJobId => "client_job_id",
    };
    let mut hasher = Sha256::new();
    for part in [workspace.as_str(), tag, value] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    Ok(Some(IdempotencyKey {
        storage_key: hex(&hasher.finalize()),
        source,
        value: value.to_owned(),
    }))
}

/// A digest of what a create asks for (input file, endpoint, window, metadata; not the
/// webhook, which the worker sets), so a reused key with a different request is noticed.
/// Object keys are sorted, so field order does not matter.
pub fn fingerprint(create: &Value) -> String {
    let pick = |name: &str| canonical(create.get(name).unwrap_or(&Value::Null));
    let text = serde_json::json!([
        pick("input_file_id"),
        pick("endpoint"),
        pick("completion_window"),
        pick("metadata"),
    ])
    .to_string();
    hex(&Sha256::digest(text.as_bytes()))
}

fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is stored for a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The request's [`fingerprint`].
    pub fingerprint: String,
    /// The created batch, once committed.
    pub batch_id: Option<String>,
    /// When the reservation was made (Unix ms).
    pub reserved_at: i64,
}

/// What to do with a create carrying a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Store a fresh reservation and create the batch.
    Reserve,
    /// Answer with this already created batch.
    Replay {
        /// The batch created by the first request.
        batch_id: String,
    },
    /// Another create with this key is under way (409, retry shortly).
    InFlight,
    /// The key was used for a different request (409).
    Mismatch,
}

/// Decides a create given what is stored for its key.
pub fn decide(stored: Option<&Record>, fingerprint: &str, now_ms: i64, lease_ms: i64) -> Decision {
    let Some(record) = stored else {
        return Decision::Reserve;
    };
    if record.fingerprint != fingerprint {
        return Decision::Mismatch;
    }
    match &record.batch_id {
        Some(batch_id) => Decision::Replay {
            batch_id: batch_id.clone(),
        },
        None if now_ms.saturating_sub(record.reserved_at) < lease_ms => Decision::InFlight,
        None => Decision::Reserve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn ws(name: &str) -> Workspace {
        Workspace::new(name).unwrap()
    }

    fn meta(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn scopes_the_same_key_to_each_workspace() {
        let a = key(&ws("alpha"), Some("k-1"), None).unwrap().unwrap();
        let b = key(&ws("beta"), Some("k-1"), None).unwrap().unwrap();
        let a_again = key(&ws("alpha"), Some(" k-1 "), None).unwrap().unwrap();
        assert_ne!(a.storage_key, b.storage_key);
        assert_eq!(a, a_again);
        assert_eq!(a.storage_key.len(), 64);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_client_job_id_from_metadata_and_prefers_the_header() {
        let m = meta(json!({"client_job_id": "job-7", "owner": "x"}));
        let from_meta = key(&ws("a"), None, Some(&m)).unwrap().unwrap();
        assert_eq!(from_meta.source, KeySource::ClientJobId);
        assert_eq!(from_meta.value, "job-7");
        let from_header = key(&ws("a"), Some("job-7"), Some(&m)).unwrap().unwrap();
        assert_eq!(from_header.source, KeySource::Header);
        assert_ne!(from_meta.storage_key, from_header.storage_key);
        assert_eq!(
            key(&ws("a"), None, Some(&meta(json!({"x": "y"})))).unwrap(),
            None
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_empty_long_or_non_ascii_keys() {
        let long = "k".repeat(MAX_KEY_LEN + 1);
        for bad in ["", "has space", "clé", long.as_str()] {
            assert!(key(&ws("a"), Some(bad), None).is_err(), "{bad:?}");
        }
        let err = key(&ws("a"), None, Some(&meta(json!({"client_job_id": 5})))).unwrap_err();
        assert!(err.to_string().contains("client_job_id"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn fingerprints_ignore_field_order_and_the_webhook() {
        let one = json!({"input_file_id": "f", "endpoint": "/v1/x", "completion_window": "24h",
            "metadata": {"a": "1", "b": "2"}});
        let two = json!({"metadata": {"b": "2", "a": "1"}, "completion_window": "24h",
            "endpoint": "/v1/x", "input_file_id": "f", "webhook": {"url": "https://h"}});
        let other = json!({"input_file_id": "g", "endpoint": "/v1/x", "completion_window": "24h"});
        assert_eq!(fingerprint(&one), fingerprint(&two));
        assert_ne!(fingerprint(&one), fingerprint(&other));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn replays_a_committed_create_and_refuses_a_different_one() {
        let done = Record {
            fingerprint: "f1".into(),
            batch_id: Some("batch_1".into()),
            reserved_at: 0,
        };
        assert_eq!(decide(None, "f1", 0, DEFAULT_LEASE_MS), Decision::Reserve);
        assert_eq!(
            decide(Some(&done), "f1", 10, DEFAULT_LEASE_MS),
            Decision::Replay {
                batch_id: "batch_1".into()
            }
        );
        assert_eq!(
            decide(Some(&done), "f2", 10, DEFAULT_LEASE_MS),
            Decision::Mismatch
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn blocks_a_repeat_during_the_lease_and_takes_over_after_it() {
        let pending = Record {
            fingerprint: "f1".into(),
            batch_id: None,
            reserved_at: 1_000,
        };
        assert_eq!(
            decide(Some(&pending), "f1", 1_000 + 59_999, 60_000),
            Decision::InFlight
        );
        assert_eq!(
            decide(Some(&pending), "f1", 1_000 + 60_000, 60_000),
            Decision::Reserve
        );
    }
}
