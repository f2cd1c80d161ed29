//! Versioned SQLite schema migrations, applied in order and recorded in `schema_migrations`.

use worker::SqlStorage;

/// The ledger's migrations; index = version - 1. Append only, never edit a released one.
pub const LEDGER: &[&str] =
    &["CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"];

/// The index's migrations; index = version - 1.
pub const INDEX: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, status TEXT, updated_at INTEGER, summary TEXT NOT NULL)",
];

/// Applies every migration newer than the recorded version and returns the resulting version.
pub fn apply(sql: &SqlStorage, migrations: &[&str]) -> worker::Result<usize> {
    sql.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        None,
    )?;
    #[derive(serde::Deserialize)]
    struct Row {
        v: Option<f64>,
    }
    let current = sql
        .exec("SELECT MAX(version) AS v FROM schema_migrations", None)?
        .one::<Row>()?
        .v
        .unwrap_or(0.0) as usize;
    let now = js_sys::Date::now() as i64;
    for (i, stmt) in migrations.iter().enumerate().skip(current) {
        sql.exec(stmt, None)?;
        sql.exec(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
            vec![((i + 1) as i64).into(), now.into()],
        )?;
    }
    Ok(migrations.len().max(current))
}
