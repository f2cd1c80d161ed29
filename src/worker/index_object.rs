//! `BatchIndex`: one instance (`id_from_name("index")`) holding what spans batches — the
//! status summaries the ledgers send from their outboxes (for list queries), the dead-letter
//! table of verified deliveries that could not be routed, and counters of unverifiable ones.
//!
//! The ledgers send summaries through the RPC method `summaries` (see [`BatchIndex::summaries_rpc`]):
//! `[{"id","status","created_at","updated_at","object"}]`, upserted so that an older
//! `updated_at` never replaces a newer one.
//!
//! Internal routes (JSON in/out):
//! - `GET /batches?limit=N` — summaries, newest first (the operator API adds filters/cursors).
//! - `POST /dead-letters` — raw body, facts JSON in `x-batchhook-dead-letter`
//!   (`webhook_id`, `source`, `reason`, `message`, `headers`); idempotent per (id, source).
//! - `GET /dead-letters` — the dead letters without bodies; `GET /dead-letters/:seq` — one,
//!   with its `headers` and body (`body_text` when UTF-8, else `body_hex`) so it can be
//!   replayed.
//! - `POST /rejections` `{"source","code"}` — counts an unverifiable delivery;
//!   `GET /rejections` — the counters.

use crate::worker::errors::ApiError;
use crate::worker::intake::hex;
use crate::worker::{api, migrations, store, stubs, txn};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, Result, State};

/// The index Durable Object.
#[durable_object]
pub struct BatchIndex {
    state: State,
    schema: std::result::Result<usize, String>,
    test_routes: bool,
}

impl DurableObject for BatchIndex {
    fn new(state: State, env: Env) -> Self {
        let schema = txn::transaction(&state, |sql| {
            migrations::adopt_api_schema(sql)?;
            Ok(migrations::apply(sql, migrations::INDEX)?.version)
        })
        .map_err(|e| e.to_string());
        Self {
            state,
            schema,
            test_routes: crate::worker::config::test_routes_enabled(&env),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match self.route(req).await {
            Ok(resp) => Ok(resp),
            Err(err) => err.into_response(),
        }
    }
}

#[derive(Deserialize)]
struct Summary {
    id: String,
    status: Option<String>,
    created_at: Option<i64>,
    updated_at: i64,
    object: Value,
    /// Set by the operator API's pause/resume summaries.
    #[serde(default)]
    paused: Option<bool>,
}

#[derive(Deserialize)]
struct DeadLetterFacts {
    webhook_id: String,
    source: String,
    reason: String,
    message: String,
    headers: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct DeadLetterRow {
    seq: i64,
    webhook_id: String,
    source: String,
    reason: String,
    message: String,
    received_at: i64,
    replayed_at: Option<i64>,
}

/// The RPC face of the index (`stub.summaries(json)`, forwarded by `worker/shim.mjs`): a
/// ledger's outbox flush skips building, routing and answering an HTTP request on both sides.
#[wasm_bindgen::prelude::wasm_bindgen]
impl BatchIndex {
    /// Upserts the summaries in `json` (a list). Answers `[http_status, json_body]`.
    #[wasm_bindgen::prelude::wasm_bindgen(js_name = summaries)]
    pub fn summaries_rpc(&self, json: String) -> wasm_bindgen::JsValue {
        let upserted = migrations::usable(&self.schema, "index").and_then(|()| {
            let summaries = serde_json::from_str(&json)
                .map_err(|e| ApiError::BadRequest(format!("expected a list of summaries: {e}")))?;
            self.upsert(summaries)
        });
        stubs::rpc_answer(match upserted {
            Ok(count) => (200, json!({"upserted": count}).to_string()),
            Err(err) => err.into_parts(),
        })
    }
}

impl BatchIndex {
    /// Upserts summaries in one transaction (an older `updated_at` never replaces a newer one);
    /// returns how many were given.
    fn upsert(&self, summaries: Vec<Summary>) -> std::result::Result<usize, ApiError> {
        let count = summaries.len();
        txn::transaction(&self.state, move |sql| {
            for s in &summaries {
                store::write(
                    sql,
                    "INSERT INTO batches (id, status, created_at, updated_at, object) VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT(id) DO UPDATE SET status = excluded.status,
                       created_at = COALESCE(excluded.created_at, batches.created_at),
                       updated_at = excluded.updated_at, object = excluded.object
                     WHERE excluded.updated_at >= batches.updated_at",
                    vec![
                        s.id.as_str().into(),
                        s.status.clone().into(),
                        s.created_at.into(),
                        s.updated_at.into(),
                        s.object.to_string().into(),
                    ],
                )?;
                api::index::on_summary(
                    sql,
                    &s.id,
                    s.status.as_deref(),
                    s.paused,
                    s.updated_at,
                    &s.object,
                )?;
            }
            Ok(())
        })?;
        Ok(count)
    }

    async fn route(&self, mut req: Request) -> std::result::Result<Response, ApiError> {
        migrations::usable(&self.schema, "index")?;
        let sql = self.state.storage().sql();
        let path = req.path();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let now = js_sys::Date::now() as i64;
        match (req.method(), segments.as_slice()) {
            (Method::Get, ["test", "schema"]) if self.test_routes => {
                Ok(Response::from_json(&schema_state(&sql)?)?)
            }
            (Method::Post, ["test", "legacy-schema"]) if self.test_routes => {
                // The layout of an index created before the operator API's tables joined
                // `migrations::INDEX`: their versions recorded in `api_schema` instead.
                sql.exec(
                    "CREATE TABLE api_schema (version INTEGER PRIMARY KEY);
                     INSERT INTO api_schema (version) VALUES (1), (2);
                     DELETE FROM schema_migrations WHERE version > 1",
                    None,
                )?;
                Ok(Response::from_json(&schema_state(&sql)?)?)
            }
            (Method::Get, ["batches"]) => {
                let limit = req
                    .url()?
                    .query_pairs()
                    .find(|(k, _)| k == "limit")
                    .and_then(|(_, v)| v.parse::<i64>().ok())
                    .unwrap_or(100)
                    .clamp(1, 1000);
                #[derive(Deserialize)]
                struct Row {
                    object: String,
                }
                let rows: Vec<Row> = store::rows(
                    &sql,
                    "SELECT object FROM batches ORDER BY created_at DESC, id DESC LIMIT ?",
                    vec![limit.into()],
                )?;
                let data: Vec<Value> = rows
                    .iter()
                    .filter_map(|r| serde_json::from_str(&r.object).ok())
                    .collect();
                Ok(Response::from_json(
                    &json!({"object": "list", "data": data}),
                )?)
            }
            (Method::Post, ["dead-letters"]) => {
                let facts: DeadLetterFacts = req
                    .headers()
                    .get("x-batchhook-dead-letter")?
                    .and_then(|h| serde_json::from_str(&h).ok())
                    .ok_or_else(|| {
                        ApiError::BadRequest("x-batchhook-dead-letter is missing or invalid".into())
                    })?;
                let body = req.bytes().await?;
                let headers = serde_json::to_string(&facts.headers)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
                store::write(
                    &sql,
                    "INSERT OR IGNORE INTO dead_letters (webhook_id, source, reason, message, headers, body, received_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                    vec![
                        facts.webhook_id.into(),
                        facts.source.into(),
                        facts.reason.into(),
                        facts.message.into(),
                        headers.into(),
                        body.into(),
                        now.into(),
                    ],
                )?;
                Ok(Response::from_json(&json!({"dead_lettered": true}))?.with_status(201))
            }
            (Method::Get, ["dead-letters"]) => {
                let rows: Vec<DeadLetterRow> = store::rows(
                    &sql,
                    "SELECT seq, webhook_id, source, reason, message, received_at, replayed_at
                     FROM dead_letters ORDER BY seq",
                    vec![],
                )?;
                Ok(Response::from_json(
                    &json!({"object": "list", "data": rows}),
                )?)
            }
            (Method::Get, ["dead-letters", seq]) => {
                let seq: i64 = seq.parse().map_err(|_| ApiError::NotFound)?;
                let row = sql
                    .exec(
                        "SELECT seq, webhook_id, source, reason, message, received_at, replayed_at, headers, body
                         FROM dead_letters WHERE seq = ?",
                        vec![seq.into()],
                    )?
                    .raw()
                    .next()
                    .transpose()?
                    .ok_or(ApiError::NotFound)?;
                Ok(Response::from_json(&dead_letter_json(row))?)
            }
            (Method::Post, ["rejections"]) => {
                #[derive(Deserialize)]
                struct Rejection {
                    source: String,
                    code: String,
                }
                let r: Rejection = req
                    .json()
                    .await
                    .map_err(|e| ApiError::BadRequest(format!("expected {{source, code}}: {e}")))?;
                store::write(
                    &sql,
                    "INSERT INTO rejections (source, code, count, last_at) VALUES (?, ?, 1, ?)
                     ON CONFLICT(source, code) DO UPDATE SET count = count + 1, last_at = excluded.last_at",
                    vec![r.source.into(), r.code.into(), now.into()],
                )?;
                Ok(Response::from_json(&json!({"counted": true}))?)
            }
            (Method::Get, ["rejections"]) => {
                #[derive(Serialize, Deserialize)]
                struct Row {
                    source: String,
                    code: String,
                    count: i64,
                    last_at: i64,
                }
                let rows: Vec<Row> = store::rows(
                    &sql,
                    "SELECT source, code, count, last_at FROM rejections ORDER BY source, code",
                    vec![],
                )?;
                Ok(Response::from_json(
                    &json!({"object": "list", "data": rows}),
                )?)
            }
            (_, ["api", ..]) => Ok(api::index::route(&sql, req).await?),
            (_, ["summaries" | "batches" | "dead-letters" | "rejections"]) => {
                Err(ApiError::MethodNotAllowed)
            }
            _ => Err(ApiError::NotFound),
        }
    }
}

/// One dead letter with its headers and body, from a raw row in the SELECT's column order.
fn dead_letter_json(row: Vec<worker::SqlStorageValue>) -> Value {
    use worker::SqlStorageValue as V;
    let text = |v: &V| match v {
        V::String(s) => json!(s),
        V::Integer(i) => json!(i),
        _ => Value::Null,
    };
    let body = match row.get(8) {
        Some(V::Blob(bytes)) => bytes.clone(),
        Some(V::String(s)) => s.clone().into_bytes(),
        _ => Vec::new(),
    };
    let headers: Value = match row.get(7) {
        Some(V::String(h)) => serde_json::from_str(h).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let names = [
        "seq",
        "webhook_id",
        "source",
        "reason",
        "message",
        "received_at",
        "replayed_at",
    ];
    let mut out = serde_json::Map::new();
    for (i, name) in names.iter().enumerate() {
        out.insert((*name).into(), row.get(i).map(text).unwrap_or(Value::Null));
    }
    out.insert("headers".into(), headers);
    match String::from_utf8(body) {
        Ok(text) => out.insert("body_text".into(), json!(text)),
        Err(e) => out.insert("body_hex".into(), json!(hex(e.as_bytes()))),
    };
    Value::Object(out)
}

/// The applied migration versions and the tables, for the schema tests.
fn schema_state(sql: &worker::SqlStorage) -> std::result::Result<Value, ApiError> {
    #[derive(Deserialize)]
    struct Version {
        version: i64,
    }
    #[derive(Deserialize)]
    struct Table {
        name: String,
    }
    let versions: Vec<Version> = store::rows(
        sql,
        "SELECT version FROM schema_migrations ORDER BY version",
        vec![],
    )?;
    let tables: Vec<Table> = store::rows(
        sql,
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        vec![],
    )?;
    Ok(json!({
        "versions": versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        "tables": tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
    }))
}
