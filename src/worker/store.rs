//! Typed reads and writes of the ledger's SQLite tables (schema in [`super::migrations`]).
//!
//! Every function is synchronous: callers compose them inside one
//! [`transaction`](super::txn::transaction) so a delivery's record and its effects commit
//! together or not at all.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{SqlStorage, SqlStorageValue};

/// Shorthand for a list of SQL parameters.
pub type Params = Vec<SqlStorageValue>;

/// All rows of `query` as `T`.
pub fn rows<T: DeserializeOwned>(
    sql: &SqlStorage,
    query: &str,
    params: Params,
) -> worker::Result<Vec<T>> {
    sql.exec(query, Some(params))?.to_array()
}

/// The first row of `query`, if any.
pub fn first<T: DeserializeOwned>(
    sql: &SqlStorage,
    query: &str,
    params: Params,
) -> worker::Result<Option<T>> {
    Ok(rows(sql, query, params)?.into_iter().next())
}

/// Runs a statement and returns how many rows it wrote.
pub fn write(sql: &SqlStorage, query: &str, params: Params) -> worker::Result<usize> {
    Ok(sql.exec(query, Some(params))?.rows_written())
}

/// A JSON value stored under `key` in `meta`.
pub fn meta<T: DeserializeOwned>(sql: &SqlStorage, key: &str) -> worker::Result<Option<T>> {
    #[derive(Deserialize)]
    struct Row {
        value: String,
    }
    match first::<Row>(
        sql,
        "SELECT value FROM meta WHERE key = ?",
        vec![key.into()],
    )? {
        Some(row) => Ok(Some(serde_json::from_str(&row.value)?)),
        None => Ok(None),
    }
}

/// Stores `value` as JSON under `key` in `meta`.
pub fn set_meta<T: Serialize>(sql: &SqlStorage, key: &str, value: &T) -> worker::Result<()> {
    write(
        sql,
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        vec![key.into(), serde_json::to_string(value)?.into()],
    )?;
    Ok(())
}

/// The stored batch row.
#[derive(Debug, Deserialize)]
pub struct BatchRow {
    /// Canonical lifecycle status, if known.
    pub status: Option<String>,
    /// The latest normalised batch object (JSON).
    pub object: String,
    /// When it last changed (ms).
    pub updated_at: f64,
    /// What changed it last: `webhook`, `poll` or `api`.
    pub updated_by: String,
}

/// The stored batch, if any.
pub fn batch(sql: &SqlStorage) -> worker::Result<Option<BatchRow>> {
    first(
        sql,
        "SELECT status, object, updated_at, updated_by FROM batch LIMIT 1",
        vec![],
    )
}

/// Replaces the stored batch.
pub fn save_batch(
    sql: &SqlStorage,
    id: &str,
    status: Option<&str>,
    object: &str,
    created_at: Option<i64>,
    now: i64,
    by: &str,
) -> worker::Result<()> {
    write(
        sql,
        "INSERT INTO batch (id, status, object, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, object = excluded.object,
           created_at = COALESCE(excluded.created_at, batch.created_at),
           updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        vec![
            id.into(),
            status.into(),
            object.into(),
            created_at.into(),
            now.into(),
            by.into(),
        ],
    )?;
    Ok(())
}

/// One delivery as stored.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliveryRow {
    /// `webhook-id` (the dedupe key).
    pub webhook_id: String,
    /// The `:source` it arrived on.
    pub source: String,
    /// When we received it (ms).
    pub received_at: i64,
    /// The signed timestamp (s), if the scheme signs one.
    pub signed_at: Option<i64>,
    /// The payload's own event id.
    pub event_id: Option<String>,
    /// The payload's event type.
    pub event_type: Option<String>,
    /// The lifecycle status the payload claims.
    pub payload_status: Option<String>,
    /// SHA-256 of the raw body (hex).
    pub body_sha256: String,
    /// Body size in bytes.
    pub size: i64,
    /// What the ledger did with it.
    pub outcome: String,
    /// Why, in words.
    pub detail: Option<String>,
    /// How many retries of it arrived after the first.
    #[serde(default)]
    pub duplicates: i64,
    /// When the last retry arrived (ms).
    #[serde(default)]
    pub last_duplicate_at: Option<i64>,
}

/// Records a retry of a known delivery; returns `false` when the id is new.
pub fn count_duplicate(sql: &SqlStorage, webhook_id: &str, now: i64) -> worker::Result<bool> {
    Ok(write(
        sql,
        "UPDATE deliveries SET duplicates = duplicates + 1, last_duplicate_at = ? WHERE webhook_id = ?",
        vec![now.into(), webhook_id.into()],
    )? > 0)
}

/// Inserts a delivery unless its `webhook_id` is stored already; returns whether it went in.
pub fn insert_delivery(sql: &SqlStorage, row: &DeliveryRow) -> worker::Result<bool> {
    let written = write(
        sql,
        "INSERT OR IGNORE INTO deliveries (webhook_id, source, received_at, signed_at, event_id, event_type,
           payload_status, body_sha256, size, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        vec![
            row.webhook_id.as_str().into(),
            row.source.as_str().into(),
            row.received_at.into(),
            row.signed_at.into(),
            row.event_id.clone().into(),
            row.event_type.clone().into(),
            row.payload_status.clone().into(),
            row.body_sha256.as_str().into(),
            row.size.into(),
            row.outcome.as_str().into(),
            row.detail.clone().into(),
        ],
    )?;
    Ok(written > 0)
}

/// The deliveries, oldest first.
pub fn deliveries(sql: &SqlStorage) -> worker::Result<Vec<DeliveryRow>> {
    rows(
        sql,
        "SELECT * FROM deliveries ORDER BY received_at, webhook_id",
        vec![],
    )
}

/// One timeline entry.
#[derive(Debug, Serialize, Deserialize)]
pub struct EventRow {
    /// The status before (none for the first observation).
    pub from_status: Option<String>,
    /// The status after.
    pub to_status: String,
    /// `webhook`, `poll` or `api`.
    pub source: String,
    /// When (ms).
    pub at: i64,
    /// The delivery id or poll request id that caused it.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

/// Appends a timeline entry.
pub fn push_event(sql: &SqlStorage, row: &EventRow) -> worker::Result<()> {
    write(
        sql,
        "INSERT INTO events (from_status, to_status, source, at, ref) VALUES (?, ?, ?, ?, ?)",
        vec![
            row.from_status.clone().into(),
            row.to_status.as_str().into(),
            row.source.as_str().into(),
            row.at.into(),
            row.reference.clone().into(),
        ],
    )?;
    Ok(())
}

/// The timeline, oldest first.
pub fn events(sql: &SqlStorage) -> worker::Result<Vec<EventRow>> {
    rows(
        sql,
        "SELECT from_status, to_status, source, at, ref FROM events ORDER BY seq",
        vec![],
    )
}

/// Queues a status summary for the index.
///
/// Only the latest summary matters to the index (it keeps the newest per batch), so a queued
/// one not yet sent is replaced rather than joined: the `outbox_keeps_latest` trigger
/// (migration v2) deletes older rows, so the outbox holds at most one row between flushes,
/// however many progress deliveries arrive.
pub fn push_outbox(sql: &SqlStorage, summary: &str, now: i64) -> worker::Result<()> {
    write(
        sql,
        "INSERT INTO outbox (summary, created_at) VALUES (?, ?)",
        vec![summary.into(), now.into()],
    )?;
    Ok(())
}

/// One queued summary.
#[derive(Debug, Deserialize)]
pub struct OutboxRow {
    /// Its sequence number (delete up to it once delivered).
    pub seq: f64,
    /// The summary JSON.
    pub summary: String,
}

/// Queued summaries, oldest first.
pub fn outbox(sql: &SqlStorage) -> worker::Result<Vec<OutboxRow>> {
    rows(sql, "SELECT seq, summary FROM outbox ORDER BY seq", vec![])
}

/// Drops summaries up to and including `seq` once the index has them.
pub fn ack_outbox(sql: &SqlStorage, seq: f64) -> worker::Result<()> {
    write(sql, "DELETE FROM outbox WHERE seq <= ?", vec![seq.into()])?;
    Ok(())
}

/// One poll as logged.
#[derive(Debug, Serialize, Deserialize)]
pub struct PollRow {
    /// When (ms).
    pub at: i64,
    /// The HTTP status, if a response arrived.
    pub http_status: Option<i64>,
    /// `applied`, `unchanged`, `stale`, `retry`, `failed`…
    pub outcome: String,
    /// Why, in words.
    pub detail: Option<String>,
    /// The delay chosen for the next poll (ms), if any.
    pub next_in_ms: Option<i64>,
}

/// Appends a poll to the log, keeping the last 200.
pub fn push_poll(sql: &SqlStorage, row: &PollRow) -> worker::Result<()> {
    write(
        sql,
        "INSERT INTO polls (at, http_status, outcome, detail, next_in_ms) VALUES (?, ?, ?, ?, ?)",
        vec![
            row.at.into(),
            row.http_status.into(),
            row.outcome.as_str().into(),
            row.detail.clone().into(),
            row.next_in_ms.into(),
        ],
    )?;
    write(
        sql,
        "DELETE FROM polls WHERE seq <= (SELECT MAX(seq) - 200 FROM polls)",
        vec![],
    )?;
    Ok(())
}

/// The poll log, oldest first.
pub fn polls(sql: &SqlStorage) -> worker::Result<Vec<PollRow>> {
    rows(
        sql,
        "SELECT at, http_status, outcome, detail, next_in_ms FROM polls ORDER BY seq",
        vec![],
    )
}
