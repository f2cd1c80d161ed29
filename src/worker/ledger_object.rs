//! `BatchLedger`: one Durable Object per batch, holding its deliveries, timeline and polling alarm.
//!
//! Internal routes (JSON in/out, called through the stub):
//! - `GET /state` — the stored state of the batch.
//! - `POST /test/alarm` `{"in_ms": N}` — schedules the alarm (test routes only).

use crate::worker::migrations;
use serde::Deserialize;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// The per-batch ledger Durable Object.
#[durable_object]
pub struct BatchLedger {
    state: State,
}

impl DurableObject for BatchLedger {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        let version = migrations::apply(&sql, migrations::LEDGER)?;
        match (req.method(), req.path().as_str()) {
            (worker::Method::Post, "/test/alarm") => {
                #[derive(Deserialize)]
                struct Body {
                    in_ms: i64,
                }
                let body: Body = req.json().await?;
                self.state.storage().set_alarm(body.in_ms).await?;
                Response::from_json(&serde_json::json!({"scheduled_in_ms": body.in_ms}))
            }
            _ => {
                let runs = meta_int(&sql, "alarm_runs")?;
                let pending = self.state.storage().get_alarm().await?;
                Response::from_json(&serde_json::json!({
                    "schema_version": version,
                    "alarm_runs": runs,
                    "alarm_pending": pending,
                }))
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let sql = self.state.storage().sql();
        migrations::apply(&sql, migrations::LEDGER)?;
        sql.exec(
            "INSERT INTO meta (key, value) VALUES ('alarm_runs', '1') \
             ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            None,
        )?;
        Response::empty()
    }
}

fn meta_int(sql: &worker::SqlStorage, key: &str) -> Result<i64> {
    #[derive(Deserialize)]
    struct Row {
        value: String,
    }
    let rows: Vec<Row> = sql
        .exec("SELECT value FROM meta WHERE key = ?", vec![key.into()])?
        .to_array()?;
    Ok(rows.first().and_then(|r| r.value.parse().ok()).unwrap_or(0))
}
