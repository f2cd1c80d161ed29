//! Versioned SQLite schema migrations, applied in order and recorded in `schema_migrations`.
//!
//! Each Durable Object runs [`apply`] once per instance before its first storage access, so a
//! deployed object upgrades its own schema the first time the new code touches it.

use crate::worker::errors::ApiError;
use worker::SqlStorage;

/// The ledger's migrations; index = version - 1. Append only: never edit a released one.
pub const LEDGER: &[&str] = &[
    // v1: key/value facts (batch id, polling state, signals), the batch, deliveries, timeline,
    // outbox and the poll log.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE batch (
       id TEXT PRIMARY KEY,
       status TEXT,
       object TEXT NOT NULL,
       created_at INTEGER,
       updated_at INTEGER NOT NULL,
       updated_by TEXT NOT NULL
     );
     CREATE TABLE deliveries (
       webhook_id TEXT PRIMARY KEY,
       source TEXT NOT NULL,
       received_at INTEGER NOT NULL,
       signed_at INTEGER,
       event_id TEXT,
       event_type TEXT,
       payload_status TEXT,
       body_sha256 TEXT NOT NULL,
       size INTEGER NOT NULL,
       outcome TEXT NOT NULL,
       detail TEXT,
       duplicates INTEGER NOT NULL DEFAULT 0,
       last_duplicate_at INTEGER
     );
     CREATE TABLE events (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       from_status TEXT,
       to_status TEXT NOT NULL,
       source TEXT NOT NULL,
       at INTEGER NOT NULL,
       ref TEXT
     );
     CREATE TABLE outbox (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       summary TEXT NOT NULL,
       created_at INTEGER NOT NULL
     );
     CREATE TABLE polls (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       at INTEGER NOT NULL,
       http_status INTEGER,
       outcome TEXT NOT NULL,
       detail TEXT,
       next_in_ms INTEGER
     );",
    // v2: the outbox keeps only the newest summary (the index keeps the newest per batch), in
    // SQLite itself, so queueing one is a single statement per delivery.
    "CREATE TRIGGER outbox_keeps_latest AFTER INSERT ON outbox
     BEGIN DELETE FROM outbox WHERE seq < NEW.seq; END;",
    // v3: the operator API's results table (`IF NOT EXISTS`: the API created it on first use
    // before). Created with the rest of the schema because a table created later, mid-life,
    // changes the schema under every statement SQLite has prepared for this object, and each
    // is then prepared again.
    crate::worker::api::ledger::RESULTS_TABLE,
];

/// The index's migrations; index = version - 1.
pub const INDEX: &[&str] = &[
    // v1: batch summaries (for list queries), dead letters, rejection counters.
    "CREATE TABLE batches (
       id TEXT PRIMARY KEY,
       status TEXT,
       created_at INTEGER,
       updated_at INTEGER NOT NULL,
       object TEXT NOT NULL
     );
     CREATE INDEX batches_by_created ON batches (created_at DESC, id DESC);
     CREATE TABLE dead_letters (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       webhook_id TEXT NOT NULL,
       source TEXT NOT NULL,
       reason TEXT NOT NULL,
       message TEXT NOT NULL,
       headers TEXT NOT NULL,
       body BLOB NOT NULL,
       received_at INTEGER NOT NULL,
       replayed_at INTEGER,
       UNIQUE (webhook_id, source)
     );
     CREATE TABLE rejections (
       source TEXT NOT NULL,
       code TEXT NOT NULL,
       count INTEGER NOT NULL,
       last_at INTEGER NOT NULL,
       PRIMARY KEY (source, code)
     );",
    // v2 and v3: the operator API's listing and idempotency tables. (Index objects created
    // before these were listed here recorded them in a table of their own, `api_schema`;
    // `adopt_api_schema` folds that record into `schema_migrations`.)
    "CREATE TABLE IF NOT EXISTS api_listing (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        workspace TEXT NOT NULL,
        status TEXT,
        updated_at INTEGER NOT NULL,
        object TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS api_listing_by_workspace ON api_listing (workspace, seq);
    CREATE TABLE IF NOT EXISTS api_idempotency (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        batch_id TEXT,
        reserved_at INTEGER NOT NULL
    )",
    "ALTER TABLE api_listing ADD COLUMN paused INTEGER NOT NULL DEFAULT 0",
];

/// `Unavailable` (503, so a sender retries) when `object`'s migrations failed with `schema`.
pub fn usable(schema: &Result<usize, String>, object: &str) -> Result<(), ApiError> {
    match schema {
        Ok(_) => Ok(()),
        Err(why) => Err(ApiError::Unavailable(format!(
            "the {object} schema could not be applied: {why}"
        ))),
    }
}

/// Index objects created before the operator API's tables were versions 2 and 3 of [`INDEX`]
/// recorded them in an `api_schema` table of their own: count what it records as applied
/// versions of `INDEX` and drop it, so that `apply` neither repeats them nor keeps a second
/// version table. Does nothing on any other database.
pub fn adopt_api_schema(sql: &SqlStorage) -> worker::Result<()> {
    if !table_exists(sql, "api_schema")? {
        return Ok(());
    }
    let recorded = max_version(sql, "SELECT MAX(version) AS v FROM api_schema")?;
    sql.exec(SCHEMA_MIGRATIONS, None)?;
    let now = js_sys::Date::now() as i64;
    for version in 1..=recorded {
        record(sql, version + 1, now)?;
    }
    sql.exec("DROP TABLE api_schema", None)?;
    Ok(())
}

/// Whether the database has a table called `name`.
fn table_exists(sql: &SqlStorage, name: &str) -> worker::Result<bool> {
    let rows: Vec<serde_json::Value> = sql
        .exec(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            vec![name.into()],
        )?
        .to_array()?;
    Ok(!rows.is_empty())
}

/// The highest version `query` (`SELECT MAX(version) AS v …`) finds, 0 for none.
fn max_version(sql: &SqlStorage, query: &str) -> worker::Result<usize> {
    #[derive(serde::Deserialize)]
    struct Row {
        v: Option<f64>,
    }
    Ok(sql.exec(query, None)?.one::<Row>()?.v.unwrap_or(0.0) as usize)
}

/// Records `version` as applied at `now` (once: a recorded version is left as it is).
fn record(sql: &SqlStorage, version: usize, now: i64) -> worker::Result<()> {
    sql.exec(
        "INSERT OR IGNORE INTO schema_migrations (version, applied_at) VALUES (?, ?)",
        vec![(version as i64).into(), now.into()],
    )?;
    Ok(())
}

/// The table `apply` records applied versions in.
const SCHEMA_MIGRATIONS: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)";

/// What [`apply`] found and did.
#[derive(Debug, Clone, Copy)]
pub struct Applied {
    /// The schema version now.
    pub version: usize,
    /// Whether the database had no schema at all, so every table is new and empty.
    pub created: bool,
}

/// Applies every migration newer than the recorded version and returns the resulting version.
///
/// The pending migrations and their version records go to SQLite as one script: a new object
/// (every new batch gets one) creates its whole schema in a single `exec` instead of one per
/// migration and record, each a round trip out of wasm.
pub fn apply(sql: &SqlStorage, migrations: &[&str]) -> worker::Result<Applied> {
    let recorded = recorded_version(sql)?;
    let current = recorded.unwrap_or(0);
    if recorded.is_none() || current < migrations.len() {
        let now = js_sys::Date::now() as i64;
        sql.exec(&script(migrations, current, now, recorded.is_none()), None)?;
    }
    Ok(Applied {
        version: migrations.len().max(current),
        created: recorded.is_none(),
    })
}

/// The recorded version (0 for none), or `None` when `schema_migrations` does not exist yet.
fn recorded_version(sql: &SqlStorage) -> worker::Result<Option<usize>> {
    if !table_exists(sql, "schema_migrations")? {
        return Ok(None);
    }
    Ok(Some(max_version(
        sql,
        "SELECT MAX(version) AS v FROM schema_migrations",
    )?))
}

/// One SQL script applying `migrations` after version `from` and recording each as applied at
/// `now`; with `create_table`, it first creates `schema_migrations`.
fn script(migrations: &[&str], from: usize, now: i64, create_table: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    if create_table {
        parts.push(SCHEMA_MIGRATIONS.to_owned());
    }
    let pending = &migrations[from.min(migrations.len())..];
    // A statement list ends without its last `;`, so that joining never makes an empty one.
    parts.extend(
        pending
            .iter()
            .map(|m| m.trim_end().trim_end_matches(';').to_owned()),
    );
    if !pending.is_empty() {
        let versions: Vec<String> = (from + 1..=migrations.len())
            .map(|v| format!("({v}, {now})"))
            .collect();
        parts.push(format!(
            "INSERT OR IGNORE INTO schema_migrations (version, applied_at) VALUES {}",
            versions.join(", ")
        ));
    }
    parts.join(";\n")
}

#[cfg(test)]
mod tests {
    use super::script;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn script_records_every_pending_version_after_the_recorded_one() {
        let text = script(&["CREATE TABLE a (x);", "CREATE TABLE b (y)"], 1, 7, false);
        assert_eq!(
            text,
            "CREATE TABLE b (y);\nINSERT OR IGNORE INTO schema_migrations (version, applied_at) VALUES (2, 7)"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn script_for_a_new_database_creates_the_version_table_first_and_never_an_empty_statement() {
        let text = script(
            &[
                "CREATE TABLE a (x);\n  ",
                "CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM a; END;",
            ],
            0,
            5,
            true,
        );
        assert!(text.starts_with(super::SCHEMA_MIGRATIONS));
        assert!(!text.contains(";;") && !text.contains(";\n;"));
        assert!(text.contains("BEGIN DELETE FROM a; END;\nINSERT"));
        assert!(text.ends_with("VALUES (1, 5), (2, 5)"));
    }
}
