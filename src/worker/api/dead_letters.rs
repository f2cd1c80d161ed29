//! `GET /v1/dead-letters` and `POST /v1/dead-letters/{seq}/replay`.
//!
//! Dead letters are verified deliveries that named no batch, so no workspace owns them: they
//! are shown to the **operator workspace** (the first in `API_TOKENS`) only. A replay routes the
//! stored delivery to a batch: the one its body names, or the `batch_id` given in the request
//! body, which must belong to the caller's workspace. The ledger then applies it exactly like
//! a live delivery (its `webhook-id` still dedupes), and the dead letter is marked replayed.

use super::front::{index_call, ledger_call};
use super::Caller;
use super::V1Error;
use crate::event::Event;
use crate::worker::ledger_object::DeliveryHeaders;
use crate::worker::stubs;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use worker::{Env, Method, Request, Response};

type Answer = Result<Response, V1Error>;

/// The stored body with `data.id` set to the operator's chosen batch, so the ledger routes and
/// applies it like a delivery that named the batch; everything else is kept.
fn route_to(body: &[u8], batch_id: &str) -> Result<Vec<u8>, V1Error> {
    let mut event: Value = serde_json::from_slice(body).map_err(|e| {
        V1Error::ConflictOther(
            "not_replayable",
            format!("the stored body is not JSON: {e}"),
        )
    })?;
    let Some(object) = event.as_object_mut() else {
        return Err(V1Error::ConflictOther(
            "not_replayable",
            "the stored body is not a JSON object".into(),
        ));
    };
    let data = object.entry("data").or_insert_with(|| json!({}));
    match data.as_object_mut() {
        Some(data) => {
            data.insert("id".into(), json!(batch_id));
        }
        None => *data = json!({"id": batch_id}),
    }
    serde_json::to_vec(&event).map_err(|e| V1Error::Unavailable(e.to_string()))
}

fn require_operator(workspace: &Caller) -> Result<(), V1Error> {
    if workspace.operator {
        Ok(())
    } else {
        Err(V1Error::NotFound(
            "dead_letter_not_found",
            "dead letters are visible to the operator workspace only".into(),
        ))
    }
}

/// Lists dead letters (empty for workspaces other than the operator's).
pub async fn list(env: &Env, workspace: &Caller) -> Answer {
    if require_operator(workspace).is_err() {
        return Ok(Response::from_json(&json!({"object": "list", "data": []}))?);
    }
    index_call(env, Method::Get, "/dead-letters", workspace, None).await
}

/// Replays one dead letter.
pub async fn replay(mut req: Request, env: &Env, workspace: &Caller, seq: &str) -> Answer {
    require_operator(workspace)?;
    let asked: Value =
        serde_json::from_slice(&req.bytes().await.unwrap_or_default()).unwrap_or(Value::Null);
    let mut found = index_call(
        env,
        Method::Get,
        &format!("/dead-letters/{seq}"),
        workspace,
        None,
    )
    .await?;
    if found.status_code() == 404 {
        return Err(V1Error::NotFound(
            "dead_letter_not_found",
            format!("no dead letter {seq}"),
        ));
    }
    let letter: Value = found.json().await?;
    if !letter["replayed_at"].is_null() {
        return Err(V1Error::ConflictOther(
            "already_replayed",
            "this dead letter was already replayed".into(),
        ));
    }
    let body = match letter["body_text"].as_str() {
        Some(text) => text.as_bytes().to_vec(),
        None => {
            return Err(V1Error::ConflictOther(
                "not_replayable",
                "the stored body is not UTF-8 JSON, so it cannot be replayed".into(),
            ))
        }
    };
    let named = Event::from_json(&body)
        .ok()
        .and_then(|e| e.batch_id().map(str::to_owned));
    let (batch_id, body) = match (asked["batch_id"].as_str(), named) {
        (Some(id), _) => (id.to_owned(), route_to(&body, id)?),
        (None, Some(id)) => (id, body),
        (None, None) => {
            return Err(V1Error::Invalid(
                "unroutable",
                "the delivery names no batch; pass {\"batch_id\": \"…\"} to route it".into(),
            ))
        }
    };
    let owned = ledger_call(
        env,
        &batch_id,
        Method::Get,
        "/api/public",
        workspace,
        None,
        &[],
    )
    .await?;
    if owned.status_code() != 200 {
        return Err(V1Error::NotFound(
            "batch_not_found",
            "no batch with this id exists in this workspace".into(),
        ));
    }
    let facts = DeliveryHeaders {
        webhook_id: letter["webhook_id"].as_str().unwrap_or_default().to_owned(),
        source: letter["source"].as_str().unwrap_or("replay").to_owned(),
        received_at: js_sys::Date::now() as i64,
        signed_at: None,
        body_sha256: super::super::intake::hex(&Sha256::digest(&body)),
    };
    let (status, answer) = stubs::deliver(env, &batch_id, &facts, body, None)
        .await
        .map_err(|e| V1Error::Unavailable(format!("{e:?}")))?;
    let outcome: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
    if status >= 300 {
        return Ok(Response::from_json(&outcome)?.with_status(status));
    }
    index_call(
        env,
        Method::Post,
        &format!("/api/dead-letters/{seq}/replayed"),
        workspace,
        None,
    )
    .await?;
    Ok(Response::from_json(&json!({
        "replayed": true,
        "seq": letter["seq"],
        "batch_id": batch_id,
        "outcome": outcome,
    }))?)
}
