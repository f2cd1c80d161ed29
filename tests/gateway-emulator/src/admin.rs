//! The admin API (admin key): global fault knobs, clock jumps and the delivery log.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::engine;
use crate::error::ApiError;
use crate::faults::{Faults, KNOBS};
use crate::state::App;

fn faults_view(app: &App, f: &Faults) -> Json<Value> {
    Json(json!({ "faults": f.to_json(), "knobs": KNOBS, "seed": app.0.seed }))
}

/// `GET /_admin/faults`: the global knobs in force.
pub async fn get_faults(State(app): State<App>) -> Json<Value> {
    let f = app.lock().faults.clone();
    faults_view(&app, &f)
}

/// `POST /_admin/faults`: replaces the global knobs with the given JSON object.
pub async fn set_faults(
    State(app): State<App>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let f = Faults::from_json(&body).map_err(ApiError::InvalidRequest)?;
    app.lock().faults = f.clone();
    Ok(faults_view(&app, &f))
}

/// `DELETE /_admin/faults`: back to no faults.
pub async fn reset_faults(State(app): State<App>) -> Json<Value> {
    app.lock().faults = Faults::default();
    faults_view(&app, &Faults::default())
}

/// The clock jump request.
#[derive(Deserialize)]
pub struct Advance {
    seconds: f64,
}

/// `POST /_admin/advance {"seconds": n}`: jumps the emulated clock and steps every batch.
pub async fn advance(
    State(app): State<App>,
    Json(req): Json<Advance>,
) -> Result<Json<Value>, ApiError> {
    if !(req.seconds.is_finite() && req.seconds >= 0.0) {
        return Err(ApiError::InvalidRequest(
            "seconds must be a number ≥ 0 (the clock only moves forward)".into(),
        ));
    }
    app.0.clock.advance(req.seconds);
    engine::tick(&app);
    Ok(Json(
        json!({ "now": app.0.clock.now_s(), "speed": app.0.clock.speed() }),
    ))
}

/// Filter for the delivery log.
#[derive(Deserialize)]
pub struct LogFilter {
    batch_id: Option<String>,
}

/// `GET /_admin/deliveries[?batch_id=…]`: every webhook request sent or dropped, in order.
pub async fn deliveries(State(app): State<App>, Query(f): Query<LogFilter>) -> Json<Value> {
    let log = app.delivery_log();
    let data: Vec<&Value> = log
        .iter()
        .filter(|e| f.batch_id.as_deref().is_none_or(|id| e["batch_id"] == id))
        .collect();
    Json(json!({ "object": "list", "data": data }))
}

/// Filter for the request log.
#[derive(Deserialize)]
pub struct RequestFilter {
    batch_id: Option<String>,
}

/// `GET /_admin/requests[?batch_id=…]`: the recent authenticated `/v1` requests in order
/// (`at_ms` real unix ms, `method`, `path` without query, `status`, injected `fault`).
pub async fn requests(State(app): State<App>, Query(f): Query<RequestFilter>) -> Json<Value> {
    let log = app.request_log();
    let data: Vec<&Value> = log
        .iter()
        .filter(|e| {
            f.batch_id.as_deref().is_none_or(|id| {
                e["path"]
                    .as_str()
                    .is_some_and(|p| p.split('/').any(|seg| seg == id))
            })
        })
        .collect();
    Json(json!({ "object": "list", "data": data }))
}
