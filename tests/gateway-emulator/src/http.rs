//! The router and its layers: permissive CORS (so the page can call the emulator directly),
//! bearer-key auth (`/v1/*` API key, `/_admin/*` admin key), and injected API faults.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::error::ApiError;
use crate::state::{App, REQUEST_LOG_CAP};
use crate::{admin, batches, files, ws};

/// Largest accepted request body (a 50,000-row input with room to spare).
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The whole HTTP surface.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/v1/files", post(files::upload))
        .route("/v1/files/{id}", get(files::get))
        .route("/v1/files/{id}/content", get(files::content))
        .route("/v1/batches", post(batches::create).get(batches::list))
        .route("/v1/batches/{id}", get(batches::get))
        .route("/v1/batches/{id}/cancel", post(batches::cancel))
        .route("/v1/batches/{id}/ws", get(ws::subscribe))
        .route(
            "/_admin/faults",
            get(admin::get_faults)
                .post(admin::set_faults)
                .delete(admin::reset_faults),
        )
        .route("/_admin/advance", post(admin::advance))
        .route("/_admin/deliveries", get(admin::deliveries))
        .route("/_admin/requests", get(admin::requests))
        .route("/health", get(|| async { Json(json!({ "ok": true })) }))
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                Json(json!({ "error": {
                    "code": "method_not_allowed",
                    "message": "This route does not accept that method.",
                }})),
            )
        })
        .layer(middleware::from_fn_with_state(app.clone(), api_faults))
        .layer(middleware::from_fn_with_state(app.clone(), auth))
        .layer(middleware::from_fn(cors))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}

/// Answers preflights and adds `Access-Control-Allow-Origin: *` to every response.
async fn cors(req: Request, next: Next) -> Response {
    let mut resp = if req.method() == Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            req.headers()
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .cloned()
                .unwrap_or(HeaderValue::from_static("authorization, content-type")),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after, content-range"),
    );
    resp
}

/// The key a request presents: `Authorization: Bearer …`, or for WebSockets (which browsers
/// cannot give headers) an `access_token` query parameter.
fn presented_key(req: &Request) -> Option<String> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        return v
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")
            .map(|k| k.trim().to_string());
    }
    if req.uri().path().ends_with("/ws") {
        return req
            .uri()
            .query()?
            .split('&')
            .find_map(|p| p.strip_prefix("access_token=").map(str::to_string));
    }
    None
}

/// Equal-length, all-bytes comparison (keys are test values, but no reason to leak timing).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn auth(State(app): State<App>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let expected = if path.starts_with("/v1/") || path == "/v1" {
        &app.0.api_key
    } else if path.starts_with("/_admin") {
        &app.0.admin_key
    } else {
        return next.run(req).await;
    };
    match presented_key(&req) {
        Some(k) if same(&k, expected) => next.run(req).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}

/// Injects 429/503 on `/v1/*` at the configured rates: a batch's own knobs for requests about
/// that batch, the global ones otherwise.
async fn api_faults(State(app): State<App>, req: Request<Body>, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if !path.starts_with("/v1/") || path.ends_with("/ws") {
        return next.run(req).await;
    }
    let verdict = {
        let mut st = app.lock();
        let global = st.faults.clone();
        let batch_id = path
            .strip_prefix("/v1/batches/")
            .and_then(|rest| rest.split('/').next())
            .map(str::to_string);
        let own = batch_id
            .as_ref()
            .and_then(|id| st.batches.get(id))
            .map(|b| b.faults.clone())
            .unwrap_or_default();
        let eff = own.or(&global);
        if st.rng.chance(eff.api_429_rate()) {
            Some(ApiError::RateLimited {
                retry_after_s: eff.retry_after_s(),
            })
        } else if st.rng.chance(eff.api_5xx_rate()) {
            Some(ApiError::Unavailable)
        } else {
            None
        }
    };
    let method = req.method().to_string();
    let fault = verdict.as_ref().map(|e| match e {
        ApiError::RateLimited { .. } => "rate_limited",
        _ => "unavailable",
    });
    let resp = match verdict {
        Some(e) => e.into_response(),
        None => next.run(req).await,
    };
    let at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut log = app.request_log();
    if log.len() >= REQUEST_LOG_CAP {
        log.pop_front();
    }
    log.push_back(json!({
        "at_ms": at_ms,
        "method": method,
        "path": path,
        "status": resp.status().as_u16(),
        "fault": fault,
    }));
    resp
}
