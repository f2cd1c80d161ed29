//! `POST /v1/batches`, `GET /v1/batches/{id}`, `GET /v1/batches` and
//! `POST /v1/batches/{id}/cancel`.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use batchhook::batch::{page, LifecycleStatus, ListItem, ListQuery};
use batchhook::signature::{Scheme, Secret};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::engine::{default_run_ms, VALIDATE_MS};
use crate::error::ApiError;
use crate::faults::{Expire, Faults};
use crate::render::batch_json;
use crate::rng::Rng;
use crate::state::{App, BatchRecord, Deliveries, Plan, Status, WebhookConfig};
use crate::webhooks::{self, DEFAULT_EVENTS, EVENT_TYPES};

/// The create request.
#[derive(Deserialize)]
pub struct CreateBatch {
    input_file_id: Option<String>,
    endpoint: Option<String>,
    completion_window: Option<String>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    webhook: Option<WebhookRequest>,
}

/// The `webhook` block of the create request.
#[derive(Deserialize)]
pub struct WebhookRequest {
    url: Option<String>,
    events: Option<Vec<String>>,
    secret: Option<String>,
}

/// Seconds in a completion window such as `24h`, `30m`, `90s` or `2d`.
fn window_seconds(text: &str) -> Option<i64> {
    let unit = match text.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    let n: i64 = text[..text.len() - 1].parse().ok()?;
    (n > 0).then_some(n * unit)
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::InvalidRequest(message.into())
}

fn webhook_config(w: WebhookRequest) -> Result<WebhookConfig, ApiError> {
    let url = w
        .url
        .ok_or_else(|| bad("webhook.url is missing; give the URL deliveries go to"))?;
    if !url.starts_with("http://") {
        return Err(bad(format!(
            "webhook.url must be an http:// URL (the emulator delivers over plain HTTP), got `{url}`"
        )));
    }
    let events = match w.events {
        None => DEFAULT_EVENTS.iter().map(|e| e.to_string()).collect(),
        Some(list) => {
            if let Some(unknown) = list.iter().find(|e| !EVENT_TYPES.contains(&e.as_str())) {
                return Err(bad(format!(
                    "unknown webhook event `{unknown}`; known events: {}",
                    EVENT_TYPES.join(", ")
                )));
            }
            list
        }
    };
    if let Some(secret) = &w.secret {
        Secret::parse(Scheme::StandardWebhooks, secret)
            .map_err(|e| bad(format!("webhook.secret is not usable: {e}")))?;
    }
    Ok(WebhookConfig {
        url,
        events,
        secret: w.secret,
    })
}

/// `POST /v1/batches`.
pub async fn create(
    State(app): State<App>,
    body: Result<Json<CreateBatch>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(req) = body.map_err(|e| bad(format!("the body must be a JSON batch request: {e}")))?;
    let input_file_id = req.input_file_id.ok_or_else(|| {
        bad("input_file_id is missing; upload the JSONL with POST /v1/files first")
    })?;
    let endpoint = req
        .endpoint
        .ok_or_else(|| bad("endpoint is missing, e.g. `/v1/chat/completions`"))?;
    let completion_window = req.completion_window.unwrap_or_else(|| "24h".into());
    let window_s = window_seconds(&completion_window).ok_or_else(|| {
        bad(format!(
            "completion_window must look like `24h`, got `{completion_window}`"
        ))
    })?;
    let metadata = req.metadata.unwrap_or_default();
    if let Some((k, _)) = metadata.iter().find(|(_, v)| !v.is_string()) {
        return Err(bad(format!(
            "metadata values must be strings; `{k}` is not"
        )));
    }
    let own_faults = Faults::from_metadata(&metadata).map_err(bad)?;
    let webhook = req.webhook.map(webhook_config).transpose()?;

    let now_ms = app.0.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let mut st = app.lock();
    let (file_endpoint, rows) = st
        .files
        .get(&input_file_id)
        .and_then(|f| f.input.clone())
        .ok_or_else(|| {
            bad(format!(
                "input_file_id `{input_file_id}` names no uploaded batch input file"
            ))
        })?;
    if file_endpoint != endpoint {
        return Err(bad(format!(
            "endpoint `{endpoint}` does not match the input file's rows, which target `{file_endpoint}`"
        )));
    }
    let eff = own_faults.or(&st.faults);
    let id = format!("batch_{}", st.rng.hex(12));
    let expires_at = match eff.expire {
        Some(Expire::AfterSeconds(s)) => now + s.ceil() as i64,
        _ => now + window_s,
    };
    let run_ms = eff
        .run_s
        .map(|s| (s * 1000.0) as i64)
        .unwrap_or_else(|| default_run_ms(rows.len()));
    let record = BatchRecord {
        rng: Rng::derive(app.0.seed, &id),
        id: id.clone(),
        input_file_id,
        endpoint,
        completion_window,
        metadata,
        webhook,
        prompt_tokens_total: rows.iter().map(|r| r.prompt_tokens).sum(),
        rows,
        faults: own_faults,
        plan: Plan {
            start_at_ms: now_ms + VALIDATE_MS,
            run_ms,
            fail: eff.fail,
            stall_until_expiry: eff.expire.is_some(),
        },
        status: Status::Validating,
        created_at: now,
        in_progress_at: None,
        finalizing_at: None,
        completed_at: None,
        failed_at: None,
        expired_at: None,
        cancelling_at: None,
        cancelled_at: None,
        expires_at,
        processed: 0,
        completed: 0,
        failed: 0,
        usage: Default::default(),
        output_file_id: None,
        error_file_id: None,
        errors: None,
        request_id: format!("req_{}", st.rng.hex(12)),
        session_id: format!("sess_{}", st.rng.hex(8)),
        deliveries: Deliveries::default(),
        version: watch::channel(0).0,
    };
    let body = batch_json(&record, &app.0.base_url);
    st.order.push(id.clone());
    st.batches.insert(id, record);
    Ok(Json(body))
}

/// `GET /v1/batches/{id}`.
pub async fn get(State(app): State<App>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let st = app.lock();
    let b = st.batches.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(Json(batch_json(b, &app.0.base_url)))
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("No batch with id `{id}`."))
}

/// One list candidate for the core's pager.
#[derive(Clone)]
struct Entry {
    id: String,
    status: LifecycleStatus,
}

impl ListItem for Entry {
    fn list_id(&self) -> &str {
        &self.id
    }
    fn list_status(&self) -> Option<LifecycleStatus> {
        Some(self.status.clone())
    }
}

/// `GET /v1/batches`: newest first, the core's query rules and pager.
pub async fn list(
    State(app): State<App>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = ListQuery::parse(raw.as_deref().unwrap_or("")).map_err(|e| ApiError::BadQuery {
        code: e.code(),
        message: e.to_string(),
    })?;
    let st = app.lock();
    let entries: Vec<Entry> = st
        .order
        .iter()
        .rev()
        .filter_map(|id| st.batches.get(id))
        .map(|b| Entry {
            id: b.id.clone(),
            status: LifecycleStatus::parse(b.status.as_str()),
        })
        .collect();
    let listed = page(&entries, &query).map_err(|e| ApiError::BadQuery {
        code: e.code(),
        message: e.to_string(),
    })?;
    let data: Vec<Value> = listed
        .data
        .iter()
        .filter_map(|e| st.batches.get(&e.id))
        .map(|b| batch_json(b, &app.0.base_url))
        .collect();
    Ok(Json(serde_json::json!({
        "object": listed.object,
        "data": data,
        "first_id": listed.first_id,
        "last_id": listed.last_id,
        "has_more": listed.has_more,
    })))
}

/// `POST /v1/batches/{id}/cancel`: `cancelling` now, `cancelled` shortly after; a batch
/// already cancelling is returned as is; a terminal one is a 409.
pub async fn cancel(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let now = app.0.clock.now_s();
    let mut st = app.lock();
    let global = st.faults.clone();
    let b = st.batches.get_mut(&id).ok_or_else(|| not_found(&id))?;
    if b.status.is_terminal() {
        return Err(ApiError::Conflict(format!(
            "Batch `{id}` is already {} and can no longer be cancelled.",
            b.status.as_str()
        )));
    }
    if b.status.is_cancellable() {
        b.status = Status::Cancelling;
        b.cancelling_at = Some(now);
        b.touch();
        webhooks::emit(&app, b, &global, "batch.cancelling", None);
    }
    Ok(Json(batch_json(b, &app.0.base_url)))
}

#[cfg(test)]
mod tests {
    use super::window_seconds;

    #[test]
    fn reads_completion_windows_in_every_unit() {
        assert_eq!(window_seconds("24h"), Some(86_400));
        assert_eq!(window_seconds("90s"), Some(90));
        assert_eq!(window_seconds("0h"), None);
        assert_eq!(window_seconds("soon"), None);
    }
}
