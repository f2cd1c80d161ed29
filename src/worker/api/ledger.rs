//! The operator API's part of a `BatchLedger`: ownership, pause/resume/cancel, result
//! ingestion driven by the alarm, results paging and the event stream.
//!
//! Internal routes (header `x-batchhook-workspace` names the caller; a batch owned by another
//! workspace, or by none, answers 404 exactly like a batch never seen):
//! - `POST /api/register {"batch"}` — claims the batch for the workspace, stores it and starts
//!   polling;
//! - `GET /api/state` — `GET /v1/batches/{id}`: the batch plus its `batchhook` block;
//! - `GET /api/public` — the batch object alone (idempotent replays);
//! - `POST /api/pause`, `/api/resume`, `/api/cancel` (`{"reason"}` optional);
//! - `GET /api/results?limit&after` — ingested rows, paged, with totals;
//! - `GET /api/events?since=<seq>` — the timeline after `seq` (JSON), or, with
//!   `Upgrade: websocket`, a hibernating socket that first replays it and then pushes each new
//!   entry.
//!
//! Storage: the ledger's `meta` table (keys `api.owner`, `api.control`, `api.cursor`,
//! `api.ws_seq`, `api.ws_progress`, `api.join`, `api.fanout`) and an `api_rows` table (one row per
//! `custom_id`) created on first use. Result ingestion reads one
//! chunk per alarm run ([`results_step`]) and stores its rows together with the advanced cursor
//! in one transaction, so a restart resumes exactly where the last commit left off.

use super::front::{BASE_HEADER, OPERATOR_HEADER, WORKSPACE_HEADER};
use super::{fanout, V1Error};
use crate::batch::{Batch, LifecycleStatus};
use crate::control::{CancelDecision, Control};
use crate::gateway::{self, RetryAfter, Transport};
use crate::ingest::{
    is_end_of_file, ranged_answer, Cursor, FileKind, IngestedRow, Join, DEFAULT_CHUNK_BYTES,
};
use crate::jsonl::Outcome;
use crate::reconcile::{CancelRequest, CancelRequester};
use crate::worker::apply::{self, PollResult};
use crate::worker::store::{self, EventRow};
use crate::worker::{config, txn};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;
use worker::{Env, Method, Request, Response, SqlStorage, State, WebSocketPair};

type Answer = Result<Response, V1Error>;

/// One row per request, keyed by `custom_id`: its first result (from the output or error
/// file, `kind`/`line` say where), or, once the input was read, a `missing` row (`kind`
/// `input`, `line` its input row). `input_row` joins a result to its input row. (Replaces the
/// earlier `api_results` table keyed by file and line.)
pub(crate) const RESULTS_TABLE: &str = "CREATE TABLE IF NOT EXISTS api_rows (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    custom_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    line INTEGER NOT NULL,
    input_row INTEGER,
    outcome TEXT NOT NULL,
    status_code INTEGER,
    error_code TEXT,
    error_message TEXT,
    request_id TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    cost_nanos INTEGER,
    UNIQUE (kind, line)
)";

/// Handles an `/api/*` request inside the ledger.
pub async fn route(state: &State, env: &Env, req: Request) -> worker::Result<Response> {
    match handle(state, env, req).await {
        Ok(resp) => Ok(resp),
        Err(err) => err.into_response(),
    }
}

async fn handle(state: &State, env: &Env, mut req: Request) -> Answer {
    let sql = state.storage().sql();
    let workspace = req.headers().get(WORKSPACE_HEADER)?.unwrap_or_default();
    let path = req.path();
    if (req.method(), path.as_str()) == (Method::Post, "/api/register") {
        let body: Value = req.json().await?;
        return register(state, env, &workspace, body).await;
    }
    let owner: Option<String> = store::meta(&sql, "api.owner")?;
    let batch_id: Option<String> = store::meta(&sql, "batch_id")?;
    let operator = req.headers().get(OPERATOR_HEADER)?.is_some();
    let visible = crate::access::visible(owner.as_deref(), &workspace, operator);
    let (Some(batch_id), true) = (batch_id, visible) else {
        return Err(V1Error::NotFound(
            "batch_not_found",
            "no batch with this id exists in this workspace".into(),
        ));
    };
    let now = js_sys::Date::now() as i64;
    let who = format!("api:{workspace}");
    let base = req.headers().get(BASE_HEADER)?;
    match (req.method(), path.as_str()) {
        (Method::Get, "/api/state") => Ok(Response::from_json(
            &full_state(state, env, &sql, base.as_deref()).await?,
        )?),
        (Method::Get, "/api/public") => {
            let batch = apply::stored_batch(&sql)?.unwrap_or_default();
            let shown = crate::public::batch(batch.to_value(), base.as_deref());
            Ok(Response::from_json(&shown)?)
        }
        (Method::Post, "/api/pause") => {
            let control = control(&sql)?;
            let batch = apply::stored_batch(&sql)?.unwrap_or_default();
            let pending = results_pending(&sql, &batch)? || fanout::waiting(env, &sql)?;
            let next = control.pause(batch.lifecycle().as_ref(), pending, &who, now)?;
            let id = batch_id.clone();
            txn::transaction(state, move |sql| {
                save_control(sql, &id, &next, "paused", now, "pause")
            })?;
            Ok(Response::from_json(
                &full_state(state, env, &sql, base.as_deref()).await?,
            )?)
        }
        (Method::Post, "/api/resume") => {
            let next = control(&sql)?.resume(now)?;
            let id = batch_id.clone();
            let schedule = config::poll_schedule(env);
            let due = txn::transaction(state, move |sql| {
                let status = apply::stored_status(sql)?
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "pending".into());
                save_control(sql, &id, &next, &status, now, "resume")?;
                apply::ensure_polling(sql, true, now, &schedule, 0)
            })?;
            wake_at(state, due.or(Some(now))).await?;
            Ok(Response::from_json(
                &full_state(state, env, &sql, base.as_deref()).await?,
            )?)
        }
        (Method::Post, "/api/cancel") => {
            let body = req.bytes().await.unwrap_or_default();
            let reason = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("reason").and_then(Value::as_str).map(str::to_owned));
            let request = CancelCall {
                batch_id: &batch_id,
                who: &who,
                reason: reason.as_deref(),
                base: base.as_deref(),
                now,
            };
            cancel(state, env, &sql, request).await
        }
        (Method::Get, "/api/results") => results(&sql, &req),
        (Method::Get, "/api/events") => {
            let since = req
                .url()?
                .query_pairs()
                .find(|(k, _)| k == "since")
                .map(|(_, v)| v.into_owned());
            let since = match since {
                None => 0,
                Some(v) => v.parse::<i64>().map_err(|_| {
                    V1Error::Invalid(
                        "invalid_since",
                        format!("since must be an event sequence number, got {v:?}"),
                    )
                })?,
            };
            let upgrade = req.headers().get("upgrade")?;
            if upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
                let protocols = req.headers().get("sec-websocket-protocol")?;
                return subscribe(state, &sql, since, protocols.as_deref()).await;
            }
            let events = events_since(&sql, since, 1000)?;
            let last = events.last().map(|e| e.seq).unwrap_or(since);
            Ok(Response::from_json(&json!({
                "object": "list",
                "data": events,
                "last_seq": last,
                "status": apply::stored_status(&sql)?,
                "progress": progress(&sql)?,
            }))?)
        }
        _ => Err(V1Error::NotFound(
            "not_found",
            "no batch route matches this path".into(),
        )),
    }
}

/// Claims a freshly created batch for `workspace`, stores it and starts polling.
async fn register(state: &State, env: &Env, workspace: &str, body: Value) -> Answer {
    let batch = Batch::from_value(body.get("batch").cloned().unwrap_or(Value::Null))
        .map_err(|e| V1Error::Invalid("invalid_request", e.to_string()))?;
    let id = batch
        .id
        .clone()
        .ok_or_else(|| V1Error::Invalid("invalid_request", "the batch has no id".into()))?;
    let sql = state.storage().sql();
    let owner: Option<String> = store::meta(&sql, "api.owner")?;
    if owner.as_deref().is_some_and(|o| o != workspace) {
        return Err(V1Error::ConflictOther(
            "batch_owned_elsewhere",
            "this batch id is already registered to another workspace".into(),
        ));
    }
    let now = js_sys::Date::now() as i64;
    let schedule = config::poll_schedule(env);
    let owner = workspace.to_owned();
    let seed = crate::worker::ledger_object::seed();
    let due = txn::transaction(state, move |sql| {
        store::set_meta(sql, "api.owner", &owner)?;
        apply::remember_batch_id(sql, &id)?;
        let result = PollResult::Batch {
            batch: Box::new(batch),
            http_status: 201,
            request_id: None,
        };
        apply::poll(sql, &id, &result, now, &schedule, seed)
    })?;
    wake_at(state, due).await?;
    Ok(Response::from_json(&json!({"registered": true}))?.with_status(201))
}

/// Decides a cancel, forwards it, and applies the gateway's answer like a poll.
/// A cancel request as the ledger received it.
struct CancelCall<'a> {
    batch_id: &'a str,
    who: &'a str,
    reason: Option<&'a str>,
    base: Option<&'a str>,
    now: i64,
}

async fn cancel(state: &State, env: &Env, sql: &SqlStorage, call: CancelCall<'_>) -> Answer {
    let CancelCall {
        batch_id,
        who,
        reason,
        base,
        now,
    } = call;
    let batch = apply::stored_batch(sql)?.unwrap_or_default();
    let next = match control(sql)?.cancel(&batch, who, reason, now)? {
        CancelDecision::AlreadyRequested => {
            return Ok(Response::from_json(
                &full_state(state, env, sql, base).await?,
            )?)
        }
        CancelDecision::Forward(next) => next,
    };
    let transport = config::gateway(env);
    let response = transport
        .send(gateway::cancel_batch(batch_id)?)
        .await
        .map_err(gateway::GatewayError::from)?;
    let request_id = response.request_id().map(str::to_owned);
    let upstream = gateway::parse_batch(&response)?;
    let record = next.cancel.clone();
    let id = batch_id.to_owned();
    let schedule = config::poll_schedule(env);
    let due = txn::transaction(state, move |sql| {
        if let Some(record) = &record {
            let request = CancelRequest {
                by: CancelRequester::Operator,
                at: record.requested_at.div_euclid(1000),
                cancel_url_available: record.cancel_url_available,
            };
            store::set_meta(sql, "cancel_request", &request)?;
        }
        store::set_meta(sql, "api.control", &next)?;
        let result = PollResult::Batch {
            batch: Box::new(upstream),
            http_status: 200,
            request_id,
        };
        apply::poll(sql, &id, &result, now, &schedule, 0)
    })?;
    wake_at(state, due).await?;
    Ok(Response::from_json(
        &full_state(state, env, sql, base).await?,
    )?)
}

/// Makes sure the alarm fires no later than `due` (absolute ms); an earlier pending alarm is kept.
pub async fn wake_at(state: &State, due: Option<i64>) -> worker::Result<()> {
    let Some(due) = due else { return Ok(()) };
    let storage = state.storage();
    match storage.get_alarm().await? {
        Some(pending) if pending <= due => Ok(()),
        _ => {
            storage
                .set_alarm((due - js_sys::Date::now() as i64).max(0))
                .await
        }
    }
}

/// The stored control state.
pub fn control(sql: &SqlStorage) -> worker::Result<Control> {
    Ok(store::meta(sql, "api.control")?.unwrap_or_default())
}

/// Whether the alarm must not poll (an operator paused this batch).
pub fn polling_paused(sql: &SqlStorage) -> worker::Result<bool> {
    Ok(control(sql)?.paused)
}

/// Stores a control change, adds it to the timeline and tells the index the listed status.
fn save_control(
    sql: &SqlStorage,
    batch_id: &str,
    next: &Control,
    to_status: &str,
    now: i64,
    what: &str,
) -> worker::Result<()> {
    store::set_meta(sql, "api.control", next)?;
    let from = apply::stored_status(sql)?.map(|s| s.as_str().to_owned());
    store::push_event(
        sql,
        &EventRow {
            from_status: from,
            to_status: to_status.to_owned(),
            source: "api".into(),
            at: now,
            reference: Some(what.to_owned()),
        },
    )?;
    let batch = apply::stored_batch(sql)?.unwrap_or_default();
    let summary = json!({
        "id": batch_id,
        "status": batch.lifecycle(),
        "paused": next.paused,
        "created_at": batch.created_at,
        "updated_at": now,
        "object": batch.to_value(),
    });
    store::push_outbox(sql, &summary.to_string(), now)
}

/// `GET /v1/batches/{id}`: the ledger's view plus control, ingestion and result totals.
async fn full_state(
    state: &State,
    env: &Env,
    sql: &SqlStorage,
    base: Option<&str>,
) -> Result<Value, V1Error> {
    let alarm = state.storage().get_alarm().await?;
    let mut view: Value = match crate::worker::view::batch(sql, alarm) {
        Ok(mut resp) => resp.json().await?,
        Err(_) => json!({}),
    };
    let control = control(sql)?;
    let cursor: Option<Cursor> = store::meta(sql, "api.cursor")?;
    let ingestion = match &cursor {
        None => json!({"state": "not_started"}),
        Some(c) => json!({
            "state": if c.is_done() { "done" } else if control.paused { "paused" } else { "running" },
            "position": c.position(),
            "fetch_failures_in_a_row": store::meta::<IngestRetry>(sql, INGEST_RETRY)?.unwrap_or_default().failures,
            "totals": c.totals(),
            "join": join_view(sql, c)?,
            "wasm_memory_bytes": wasm_memory_bytes(),
        }),
    };
    let block = view
        .as_object_mut()
        .map(|o| o.entry("batchhook").or_insert_with(|| json!({})));
    if let Some(Value::Object(block)) = block {
        block.insert(
            "control".into(),
            serde_json::to_value(&control).unwrap_or_default(),
        );
        block.insert("paused".into(), json!(control.paused));
        block.insert("ingestion".into(), ingestion);
        block.insert("results_stored".into(), json!(count_results(sql)?));
        block.insert("fanout".into(), fanout::status(env, sql)?);
    }
    Ok(crate::public::batch(view, base))
}

fn count_results(sql: &SqlStorage) -> worker::Result<i64> {
    #[derive(Deserialize)]
    struct Row {
        n: i64,
    }
    Ok(
        store::first::<Row>(sql, "SELECT COUNT(*) AS n FROM api_rows", vec![])?
            .map(|r| r.n)
            .unwrap_or(0),
    )
}

/// The join by `custom_id` so far: results stored, duplicates, missing (once the input was
/// read) and results not in the input.
fn join_view(sql: &SqlStorage, cursor: &Cursor) -> worker::Result<Value> {
    let join: Join = store::meta(sql, "api.join")?.unwrap_or_default();
    let mut v = serde_json::to_value(&join)?;
    v["unexpected"] = json!(join.unexpected(cursor.is_done() && cursor.reads_input()));
    Ok(v)
}

/// Whether result ingestion still has work for this batch.
fn results_pending(sql: &SqlStorage, batch: &Batch) -> worker::Result<bool> {
    let cursor: Option<Cursor> = store::meta(sql, "api.cursor")?;
    Ok(match cursor {
        Some(c) => !c.is_done(),
        None => {
            batch.is_terminal() && (batch.output_file_id.is_some() || batch.error_file_id.is_some())
        }
    })
}

/// One stored result row.
#[derive(Serialize, Deserialize)]
pub(super) struct ResultRow {
    /// Storage sequence (insertion order).
    pub(super) n: i64,
    kind: String,
    line: i64,
    custom_id: String,
    input_row: Option<i64>,
    outcome: String,
    status_code: Option<i64>,
    error_code: Option<String>,
    error_message: Option<String>,
    request_id: Option<String>,
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
    total_tokens: Option<i64>,
    cost_nanos: Option<i64>,
}

impl ResultRow {
    /// The row's id in the results API: `<file>:<line>`.
    pub(super) fn public_id(&self) -> String {
        format!("{}:{}", self.kind, self.line)
    }

    /// The row as the results API and fan-out messages show it.
    pub(super) fn public(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("n");
            o.insert("id".into(), json!(self.public_id()));
        }
        v
    }
}

/// `GET /v1/batches/{id}/results?limit=1..=1000&after=<id>`: one row per `custom_id` in the
/// order stored (output file, then error file, then `missing` rows in input order); ids are
/// `<file>:<line>` (`input:<row>` for a missing row); `join` has the per-`custom_id` totals.
fn results(sql: &SqlStorage, req: &Request) -> Answer {
    let url = req.url()?;
    let mut limit = 100i64;
    let mut after_n = 0i64;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|l| (1..=1000).contains(l))
                    .ok_or_else(|| {
                        V1Error::Invalid(
                            "invalid_limit",
                            format!("limit must be from 1 to 1000, got {v:?}"),
                        )
                    })?
            }
            "after" => {
                let (kind, line) = v.split_once(':').unwrap_or(("", ""));
                #[derive(Deserialize)]
                struct N {
                    n: i64,
                }
                let found = store::first::<N>(
                    sql,
                    "SELECT n FROM api_rows WHERE kind = ? AND line = ?",
                    vec![kind.into(), line.parse::<i64>().unwrap_or(-1).into()],
                )?;
                after_n = found
                    .ok_or_else(|| {
                        V1Error::Invalid(
                            "invalid_cursor",
                            format!("after={v:?} names no result row; restart without `after`"),
                        )
                    })?
                    .n;
            }
            _ => {}
        }
    }
    let rows: Vec<ResultRow> = store::rows(
        sql,
        "SELECT * FROM api_rows WHERE n > ? ORDER BY n LIMIT ?",
        vec![after_n.into(), (limit + 1).into()],
    )?;
    let has_more = rows.len() as i64 > limit;
    let data: Vec<Value> = rows
        .iter()
        .take(limit as usize)
        .map(ResultRow::public)
        .collect();
    let cursor: Option<Cursor> = store::meta(sql, "api.cursor")?;
    let id = |v: Option<&Value>| v.and_then(|v| v["id"].as_str()).map(str::to_owned);
    Ok(Response::from_json(&json!({
        "object": "list",
        "first_id": id(data.first()),
        "last_id": id(data.last()),
        "has_more": has_more,
        "data": data,
        "ingestion_done": cursor.as_ref().is_some_and(Cursor::is_done),
        "totals": cursor.as_ref().map(|c| c.totals().clone()),
        "join": match &cursor {
            Some(c) => join_view(sql, c)?,
            None => Value::Null,
        },
    }))?)
}

/// One timeline entry with its sequence number.
#[derive(Serialize, Deserialize)]
struct SeqEvent {
    seq: i64,
    from_status: Option<String>,
    to_status: String,
    source: String,
    at: i64,
    #[serde(rename = "ref")]
    reference: Option<String>,
}

/// The most timeline entries a new socket is sent at once.
const REPLAY_LIMIT: i64 = 10_000;

/// The newest timeline entry's sequence number (0 for none).
fn latest_seq(sql: &SqlStorage) -> worker::Result<i64> {
    #[derive(Deserialize)]
    struct Row {
        seq: Option<i64>,
    }
    let rows: Vec<Row> = store::rows(sql, "SELECT MAX(seq) AS seq FROM events", vec![])?;
    Ok(rows.first().and_then(|r| r.seq).unwrap_or(0))
}

fn events_since(sql: &SqlStorage, since: i64, limit: i64) -> worker::Result<Vec<SeqEvent>> {
    store::rows(
        sql,
        "SELECT seq, from_status, to_status, source, at, ref FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
        vec![since.into(), limit.into()],
    )
}

/// Accepts a hibernating WebSocket: publishes pending entries to the sockets already open,
/// then replays the timeline after `since` to the new one.
async fn subscribe(state: &State, sql: &SqlStorage, since: i64, protocols: Option<&str>) -> Answer {
    publish(state)?;
    let pair = WebSocketPair::new()?;
    state.accept_web_socket(&pair.server);
    let replay = events_since(sql, since, REPLAY_LIMIT)?;
    for event in &replay {
        pair.server.send(&message(event))?;
    }
    let now = progress(sql)?;
    pair.server.send(&progress_message(&now))?;
    // Every open socket now has the timeline up to the latest entry (unless the replay was cut
    // short) and this progress: the next `publish` starts after them. (`publish` keeps no
    // marks while no socket is open, so they may lag until here.)
    let latest = match replay.last() {
        Some(last) if replay.len() as i64 == REPLAY_LIMIT => last.seq,
        _ => latest_seq(sql)?,
    };
    store::set_meta(sql, "api.ws_seq", &latest)?;
    store::set_meta(sql, "api.ws_progress", &now)?;
    let mut resp = Response::from_websocket(pair.client)?;
    if protocols.is_some_and(|p| p.split(',').any(|p| p.trim() == "batchhook")) {
        resp.headers_mut()
            .set("sec-websocket-protocol", "batchhook")?;
    }
    Ok(resp)
}

fn message(event: &SeqEvent) -> Value {
    json!({"type": "event", "event": event})
}

/// The batch's progress as the event stream shows it: the gateway's request counts and our
/// result ingestion. A change of any of it (without a status change) is a `progress` message.
fn progress(sql: &SqlStorage) -> worker::Result<Value> {
    let batch = apply::stored_batch(sql)?.unwrap_or_default().to_value();
    let cursor: Option<Cursor> = store::meta(sql, "api.cursor")?;
    Ok(json!({
        "status": batch.get("status"),
        "request_counts": batch.get("request_counts"),
        "results_ingested": cursor.as_ref().map(|c| c.totals().rows),
        "ingestion_done": cursor.as_ref().map(Cursor::is_done),
    }))
}

fn progress_message(progress: &Value) -> Value {
    json!({"type": "progress", "progress": progress})
}

/// Sends timeline entries not yet pushed to every open socket, then one `progress` message if
/// the progress changed since the last one pushed. Called once after each request that changed
/// something and once per alarm run, so progress messages are coalesced to one per step.
pub fn publish(state: &State) -> worker::Result<()> {
    let sockets = state.get_websockets();
    // Nobody is listening: nothing to send and nothing to mark (every delivery comes through
    // here). A socket that connects later gets its replay in `subscribe`, which sets the marks.
    if sockets.is_empty() {
        return Ok(());
    }
    let sql = state.storage().sql();
    let sent: i64 = store::meta(&sql, "api.ws_seq")?.unwrap_or(0);
    let events = events_since(&sql, sent, 1000)?;
    if let Some(last) = events.last().map(|e| e.seq) {
        for ws in &sockets {
            for event in &events {
                if ws.send(&message(event)).is_err() {
                    break;
                }
            }
        }
        store::set_meta(&sql, "api.ws_seq", &last)?;
    }
    let now = progress(&sql)?;
    let pushed: Option<Value> = store::meta(&sql, "api.ws_progress")?;
    if pushed.as_ref() != Some(&now) {
        let text = progress_message(&now);
        for ws in &sockets {
            let _ = ws.send(&text);
        }
        store::set_meta(&sql, "api.ws_progress", &now)?;
    }
    Ok(())
}

/// After any change: push new timeline entries, and make the alarm fire now when result
/// ingestion or the outbox has work (a batch that turned terminal by webhook has no poll
/// scheduled). `outbox_waiting`: whether the outbox flush just before left summaries behind
/// (it read the outbox, so this does not read it again).
pub async fn after_change(state: &State, env: &Env, outbox_waiting: bool) -> worker::Result<()> {
    let sql = state.storage().sql();
    publish(state)?;
    // Summaries queued for the index (e.g. from a delivery that made the batch terminal) and
    // results waiting to be ingested or fanned out are handled by the alarm: make it fire now,
    // not at the next scheduled poll, which may be POLL_MAX_MS away. An early alarm is
    // harmless: it polls only when the poll is due.
    let ingest_waiting = store::meta::<String>(&sql, "api.owner")?.is_some()
        && !control(&sql)?.paused
        && results_pending(&sql, &apply::stored_batch(&sql)?.unwrap_or_default())?;
    let fanout_waiting = fanout::waiting(env, &sql)?;
    if outbox_waiting || ingest_waiting || fanout_waiting {
        let fires_later = match state.storage().get_alarm().await? {
            Some(at) => at > js_sys::Date::now() as i64,
            None => true,
        };
        if fires_later {
            state.storage().set_alarm(0).await?;
        }
    }
    Ok(())
}

/// The alarm's result work: one ingestion chunk, then fan-out of the rows stored so far (the
/// chunk's rows go downstream in the same alarm run). Returns when the alarm should fire again.
pub async fn results_step(state: &State, env: &Env) -> worker::Result<Option<i64>> {
    let ingest = ingest_step(state, env).await?;
    let sql = state.storage().sql();
    let fan_out = match store::meta::<String>(&sql, "batch_id")? {
        Some(batch_id) => fanout::step(state, env, &batch_id).await?,
        None => None,
    };
    Ok(match (ingest, fan_out) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// One ingestion chunk: returns when the alarm should fire again.
async fn ingest_step(state: &State, env: &Env) -> worker::Result<Option<i64>> {
    let sql = state.storage().sql();
    if store::meta::<String>(&sql, "api.owner")?.is_none() || !control(&sql)?.may_ingest() {
        return Ok(None);
    }
    let batch = apply::stored_batch(&sql)?.unwrap_or_default();
    let status = batch.lifecycle();
    if !status.as_ref().is_some_and(LifecycleStatus::is_terminal) {
        return Ok(None);
    }
    let mut cursor: Cursor = match store::meta(&sql, "api.cursor")? {
        Some(c) => c,
        None => Cursor::with_input(
            batch.output_file_id.as_deref(),
            batch.error_file_id.as_deref(),
            batch.input_file_id.as_deref(),
        ),
    };
    let chunk_bytes = config::number(env, "INGEST_CHUNK_BYTES", DEFAULT_CHUNK_BYTES);
    let Some(request) = cursor.next_request(chunk_bytes) else {
        store::set_meta(&sql, "api.cursor", &cursor)?;
        return Ok(None);
    };
    // The alarm also runs for other reasons (polls, the outbox): a chunk refused earlier is
    // not fetched again before its retry time.
    let now = js_sys::Date::now() as i64;
    let retry: IngestRetry = store::meta(&sql, INGEST_RETRY)?.unwrap_or_default();
    if now < retry.not_before {
        return Ok(Some(retry.not_before));
    }
    let mut http = gateway::file_content(&request.file_id)
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    http.headers.push(("range".into(), request.range_header()));
    let transport = config::gateway(env);
    let response = match transport.send(http).await {
        Ok(r) => r,
        Err(e) => {
            worker::console_warn!("batchhook: result chunk fetch failed: {}", e.message);
            return retry_ingest(&sql, env, retry, now, None).map(Some);
        }
    };
    let answer = ranged_answer(
        &request,
        response.status,
        &response.body,
        response.header("content-range"),
    );
    let Some((bytes, total)) = answer else {
        worker::console_warn!("batchhook: result chunk answered HTTP {}", response.status);
        let retry_after = response
            .header("retry-after")
            .and_then(RetryAfter::parse)
            .map(|r| r.delay(now / 1000));
        return retry_ingest(&sql, env, retry, now, retry_after).map(Some);
    };
    if retry.failures > 0 {
        store::set_meta(&sql, INGEST_RETRY, &IngestRetry::default())?;
    }
    let eof = is_end_of_file(&request, bytes.len() as u64, total);
    let chunk = cursor
        .consume(&request, bytes, eof, None)
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let done = cursor.is_done();
    let rows = chunk.rows;
    let status_name = status.map(|s| s.as_str().to_owned()).unwrap_or_default();
    let committed = txn::transaction(state, move |sql| {
        // A pause that landed while this chunk was being fetched wins: the chunk is dropped
        // and the unchanged cursor fetches it again on resume.
        if !control(sql)?.may_ingest() {
            return Ok(false);
        }
        let mut join: Join = store::meta(sql, "api.join")?.unwrap_or_default();
        for row in &rows {
            match row.kind {
                FileKind::Input => join.input(match_input(sql, row)?),
                _ => join.result(&row.result, insert_row(sql, row)?),
            }
        }
        store::set_meta(sql, "api.join", &join)?;
        store::set_meta(sql, "api.cursor", &cursor)?;
        if done {
            let summary = format!(
                "results_ingested:{} missing:{} duplicates:{}",
                join.results, join.missing, join.duplicates
            );
            store::push_event(
                sql,
                &EventRow {
                    from_status: Some(status_name.clone()),
                    to_status: status_name,
                    source: "api".into(),
                    at: now,
                    reference: Some(summary),
                },
            )?;
        }
        Ok(true)
    })?;
    let interval = config::number(env, "INGEST_INTERVAL_MS", 0) as i64;
    Ok((committed && !done).then_some(now + interval))
}

/// Meta key of the [`IngestRetry`].
const INGEST_RETRY: &str = "api.ingest_retry";

/// Result chunk fetches that failed in a row, and when the next may go out.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct IngestRetry {
    failures: u32,
    not_before: i64,
}

/// Records a failed chunk fetch and returns when to fetch again: the core's poll schedule
/// (backoff from `POLL_MIN_MS` up to `POLL_MAX_MS`, jittered, never before the gateway's
/// `Retry-After`), counting the failures in a row.
fn retry_ingest(
    sql: &SqlStorage,
    env: &Env,
    last: IngestRetry,
    now: i64,
    retry_after: Option<Duration>,
) -> worker::Result<i64> {
    let seed = crate::worker::ledger_object::seed();
    let delay = config::poll_schedule(env).next_delay(last.failures, seed, retry_after);
    let next = IngestRetry {
        failures: last.failures.saturating_add(1),
        not_before: now + delay.as_millis() as i64,
    };
    store::set_meta(sql, INGEST_RETRY, &next)?;
    Ok(next.not_before)
}

/// Stores a result row unless its `custom_id` already has one; returns whether it was stored.
fn insert_row(sql: &SqlStorage, row: &IngestedRow) -> worker::Result<bool> {
    let r = &row.result;
    let (outcome, code, message) = match &r.outcome {
        Outcome::Succeeded => ("succeeded", None, None),
        Outcome::Failed { code, message } => ("failed", code.clone(), Some(message.clone())),
        Outcome::Missing => ("missing", None, None),
    };
    let usage = r.usage.as_ref();
    // `RETURNING` says whether the row went in (`rowsWritten` is not reliable for a skipped
    // upsert).
    let stored = store::first::<IgnoredAny>(
        sql,
        "INSERT INTO api_rows (kind, line, custom_id, outcome, status_code, error_code,
           error_message, request_id, prompt_tokens, completion_tokens, total_tokens, cost_nanos)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (custom_id) DO NOTHING RETURNING n",
        vec![
            row.kind.as_str().into(),
            (row.line as i64).into(),
            r.custom_id.as_str().into(),
            outcome.into(),
            r.status_code.map(i64::from).into(),
            code.into(),
            message.into(),
            r.request_id.clone().into(),
            usage.map(|u| u.prompt_tokens as i64).into(),
            usage.map(|u| u.completion_tokens as i64).into(),
            usage.map(|u| u.total_tokens as i64).into(),
            r.cost_nanos.map(|c| c as i64).into(),
        ],
    )?;
    Ok(stored.is_some())
}

/// Joins an input row to its stored result (sets `input_row`), or stores it as `missing`.
/// Returns whether it had a result. (Input `custom_id`s are unique: uploads with repeated ones
/// are refused by validation and by the gateway.)
fn match_input(sql: &SqlStorage, row: &IngestedRow) -> worker::Result<bool> {
    let line = row.line as i64;
    let id = row.result.custom_id.as_str();
    let matched = store::first::<IgnoredAny>(
        sql,
        "UPDATE api_rows SET input_row = ? WHERE custom_id = ? AND kind != 'input' AND input_row IS NULL
         RETURNING n",
        vec![line.into(), id.into()],
    )?;
    if matched.is_some() {
        return Ok(true);
    }
    store::write(
        sql,
        "INSERT INTO api_rows (kind, line, custom_id, input_row, outcome) VALUES ('input', ?, ?, ?, 'missing')
         ON CONFLICT (custom_id) DO NOTHING",
        vec![line.into(), id.into(), line.into()],
    )?;
    Ok(false)
}

/// The wasm linear memory size in bytes (its high-water mark: it never shrinks).
pub fn wasm_memory_bytes() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0) as u64 * 65_536
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}
