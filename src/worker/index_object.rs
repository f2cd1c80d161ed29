//! `BatchIndex`: answers list queries over the status summaries the ledgers send it.

use crate::worker::migrations;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// The list index Durable Object (one instance for now; sharding later if needed).
#[durable_object]
pub struct BatchIndex {
    state: State,
}

impl DurableObject for BatchIndex {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, _req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        let version = migrations::apply(&sql, migrations::INDEX)?;
        Response::from_json(&serde_json::json!({"schema_version": version}))
    }
}
