//! The operator API's part of the `BatchIndex`: the workspace-scoped listing and the
//! idempotency keys.
//!
//! Internal routes (header `x-batchhook-workspace` names the caller):
//! - `POST /api/register {"id","status","object"}` — lists a batch created through the API
//!   under the caller's workspace (registration order gives the list order, newest first);
//! - `GET /api/list?<list query>` — the list envelope ([`crate::index`] plans the read,
//!   [`crate::batch::page`] cuts the page);
//! - `POST /api/idempotency/reserve {"key","fingerprint"}` → `{"decision","batch_id"}`,
//!   `POST /api/idempotency/commit {"key","batch_id"}`, `POST /api/idempotency/release {"key"}`;
//! - `GET /api/owner/:batch_id` → `{"workspace"}`;
//! - `POST /api/dead-letters/:seq/replayed` — marks a dead letter replayed.
//!
//! The ledgers' outbox summaries (the index object's RPC method `summaries`) also refresh
//! the listing through [`on_summary`]; an older summary never replaces a newer one.

use super::front::{BASE_HEADER, OPERATOR_HEADER, WORKSPACE_HEADER};
use super::V1Error;
use crate::batch::{LifecycleStatus, ListQuery};
use crate::idempotency::{self, Decision, Record, DEFAULT_LEASE_MS};
use crate::index::{assemble, plan, Entry};
use crate::worker::store;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Method, Request, Response, SqlStorage, SqlStorageValue};

type Answer = Result<Response, V1Error>;

/// The workspace column of batches no workspace created (seen only through webhooks).
const UNOWNED: &str = "";

/// Above every stored sequence, and exactly representable as a JavaScript number.
const MAX_SAFE_SEQ: i64 = (1 << 53) - 1;

/// Refreshes the listing from a ledger's summary (only batches registered through the API are
/// listed; the workspace never changes).
///
/// `paused` is given by the operator API's own summaries (pause/resume); other summaries keep
/// the stored flag, so a webhook arriving during a pause does not list the batch as running.
pub fn on_summary(
    sql: &SqlStorage,
    id: &str,
    status: Option<&str>,
    paused: Option<bool>,
    updated_at: i64,
    object: &Value,
) -> worker::Result<()> {
    #[derive(Deserialize)]
    struct Row {
        paused: i64,
    }
    let paused = match paused {
        Some(p) => p,
        None => store::first::<Row>(
            sql,
            "SELECT paused FROM api_listing WHERE id = ?",
            vec![id.into()],
        )?
        .is_some_and(|r| r.paused != 0),
    };
    let lifecycle = status.map(LifecycleStatus::parse);
    let shown = crate::index::listed(lifecycle, paused).map(|s| s.as_str().to_owned());
    // A batch first seen through a webhook is listed unowned (the operator workspace's) until
    // an API registration claims it; the update never touches the owner. (One statement: it
    // runs for every summary a ledger sends.)
    store::write(
        sql,
        "INSERT INTO api_listing (id, workspace, status, paused, updated_at, object) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, paused = excluded.paused,
           object = excluded.object, updated_at = excluded.updated_at
         WHERE api_listing.updated_at <= excluded.updated_at",
        vec![
            id.into(),
            UNOWNED.into(),
            shown.into(),
            i64::from(paused).into(),
            updated_at.into(),
            crate::public::batch(object.clone(), None).to_string().into(),
        ],
    )?;
    Ok(())
}

/// Handles an `/api/*` request inside the index.
pub async fn route(sql: &SqlStorage, req: Request) -> worker::Result<Response> {
    match handle(sql, req).await {
        Ok(resp) => Ok(resp),
        Err(err) => err.into_response(),
    }
}

async fn handle(sql: &SqlStorage, mut req: Request) -> Answer {
    let workspace = req.headers().get(WORKSPACE_HEADER)?.unwrap_or_default();
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let now = js_sys::Date::now() as i64;
    match (req.method(), segments.as_slice()) {
        (Method::Post, ["api", "register"]) => {
            #[derive(Deserialize)]
            struct Body {
                id: String,
                status: Option<String>,
                object: Value,
            }
            let body: Body = req.json().await?;
            store::write(
                sql,
                "INSERT INTO api_listing (id, workspace, status, updated_at, object) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET workspace = excluded.workspace WHERE api_listing.workspace = ''",
                vec![
                    body.id.as_str().into(),
                    workspace.into(),
                    body.status.into(),
                    0i64.into(),
                    body.object.to_string().into(),
                ],
            )?;
            // The ledger may have sent a summary before this registration (a webhook that beat
            // the create's answer): apply the newest one the index already holds.
            #[derive(Deserialize)]
            struct Known {
                status: Option<String>,
                updated_at: f64,
                object: String,
            }
            let known = store::first::<Known>(
                sql,
                "SELECT status, updated_at, object FROM batches WHERE id = ?",
                vec![body.id.as_str().into()],
            )?;
            if let Some(known) = known {
                let object: Value = serde_json::from_str(&known.object).unwrap_or(Value::Null);
                let at = known.updated_at as i64;
                on_summary(sql, &body.id, known.status.as_deref(), None, at, &object)?;
            }
            Ok(Response::from_json(&json!({"listed": true}))?)
        }
        (Method::Get, ["api", "list"]) => {
            let raw = req.url()?.query().unwrap_or("").to_owned();
            let query = ListQuery::parse(&raw)?;
            let base = req.headers().get(BASE_HEADER)?;
            // The operator workspace also lists the batches no workspace owns: the rule of
            // `access::visible`, as a filter on the owner column.
            let also = match req.headers().get(OPERATOR_HEADER)? {
                Some(_) => UNOWNED,
                None => workspace.as_str(),
            };
            let page = list(sql, [workspace.as_str(), also], &query, base.as_deref())?;
            Ok(Response::from_json(&page)?)
        }
        (Method::Post, ["api", "idempotency", action]) => {
            #[derive(Deserialize)]
            struct Body {
                key: String,
                #[serde(default)]
                fingerprint: String,
                #[serde(default)]
                batch_id: Option<String>,
            }
            let body: Body = req.json().await?;
            match *action {
                "reserve" => reserve(sql, &body.key, &body.fingerprint, now),
                "commit" => {
                    store::write(
                        sql,
                        "UPDATE api_idempotency SET batch_id = ? WHERE key = ?",
                        vec![body.batch_id.into(), body.key.into()],
                    )?;
                    Ok(Response::from_json(&json!({"committed": true}))?)
                }
                "release" => {
                    store::write(
                        sql,
                        "DELETE FROM api_idempotency WHERE key = ? AND batch_id IS NULL",
                        vec![body.key.into()],
                    )?;
                    Ok(Response::from_json(&json!({"released": true}))?)
                }
                _ => Err(V1Error::NotFound(
                    "not_found",
                    "unknown idempotency action".into(),
                )),
            }
        }
        (Method::Post, ["api", "dead-letters", seq, "replayed"]) => {
            let seq: i64 = seq.parse().unwrap_or(-1);
            store::write(
                sql,
                "UPDATE dead_letters SET replayed_at = ? WHERE seq = ?",
                vec![now.into(), seq.into()],
            )?;
            Ok(Response::from_json(&json!({"marked": true}))?)
        }
        (Method::Get, ["api", "owner", id]) => {
            #[derive(Deserialize)]
            struct Row {
                workspace: String,
            }
            let row = store::first::<Row>(
                sql,
                "SELECT workspace FROM api_listing WHERE id = ?",
                vec![(*id).into()],
            )?;
            Ok(Response::from_json(
                &json!({"workspace": row.map(|r| r.workspace)}),
            )?)
        }
        _ => Err(V1Error::NotFound(
            "not_found",
            "no index route matches".into(),
        )),
    }
}

/// Reserves an idempotency key, or says why not (see [`idempotency::decide`]).
fn reserve(sql: &SqlStorage, key: &str, fingerprint: &str, now: i64) -> Answer {
    #[derive(Deserialize)]
    struct Row {
        fingerprint: String,
        batch_id: Option<String>,
        reserved_at: i64,
    }
    let stored = store::first::<Row>(
        sql,
        "SELECT fingerprint, batch_id, reserved_at FROM api_idempotency WHERE key = ?",
        vec![key.into()],
    )?
    .map(|r| Record {
        fingerprint: r.fingerprint,
        batch_id: r.batch_id,
        reserved_at: r.reserved_at,
    });
    let answer = match idempotency::decide(stored.as_ref(), fingerprint, now, DEFAULT_LEASE_MS) {
        Decision::Reserve => {
            store::write(
                sql,
                "INSERT INTO api_idempotency (key, fingerprint, batch_id, reserved_at) VALUES (?, ?, NULL, ?)
                 ON CONFLICT(key) DO UPDATE SET fingerprint = excluded.fingerprint, batch_id = NULL,
                   reserved_at = excluded.reserved_at",
                vec![key.into(), fingerprint.into(), now.into()],
            )?;
            json!({"decision": "reserve"})
        }
        Decision::Replay { batch_id } => json!({"decision": "replay", "batch_id": batch_id}),
        Decision::InFlight => json!({"decision": "in_flight"}),
        Decision::Mismatch => json!({"decision": "mismatch"}),
    };
    Ok(Response::from_json(&answer)?)
}

/// One list page of the workspace's batches.
fn list(
    sql: &SqlStorage,
    workspaces: [&str; 2],
    query: &ListQuery,
    base: Option<&str>,
) -> Result<Value, V1Error> {
    let plan = plan(query);
    let (below, found) = match &plan.after {
        None => (MAX_SAFE_SEQ, true),
        Some(after) => {
            #[derive(Deserialize)]
            struct Seq {
                seq: i64,
            }
            match store::first::<Seq>(
                sql,
                "SELECT seq FROM api_listing WHERE workspace IN (?, ?) AND id = ?",
                vec![
                    workspaces[0].into(),
                    workspaces[1].into(),
                    after.as_str().into(),
                ],
            )? {
                Some(row) => (row.seq, true),
                None => (0, false),
            }
        }
    };
    let mut params: Vec<SqlStorageValue> =
        vec![workspaces[0].into(), workspaces[1].into(), below.into()];
    let mut filter = String::new();
    if !plan.statuses.is_empty() {
        let marks = vec!["?"; plan.statuses.len()].join(", ");
        filter = format!(" AND status IN ({marks})");
        params.extend(plan.statuses.iter().map(|s| s.as_str().into()));
    }
    params.push(i64::from(plan.fetch).into());
    #[derive(Deserialize)]
    struct Row {
        seq: i64,
        id: String,
        status: Option<String>,
        object: String,
    }
    let rows: Vec<Row> = store::rows(
        sql,
        &format!(
            "SELECT seq, id, status, object FROM api_listing WHERE workspace IN (?, ?) AND seq < ?{filter}
             ORDER BY seq DESC LIMIT ?"
        ),
        params,
    )?;
    let entries = rows
        .into_iter()
        .map(|r| Entry {
            seq: r.seq,
            id: r.id,
            status: r.status.map(|s| LifecycleStatus::parse(&s)),
            batch: crate::public::batch(
                serde_json::from_str(&r.object).unwrap_or(Value::Null),
                base,
            ),
        })
        .collect();
    let page = assemble(entries, query, found)?;
    Ok(serde_json::to_value(page).unwrap_or_default())
}
