//! The operator API (`/v1/*`): bearer tokens with workspace scoping, CORS, and the routes of
//! the gateway's batch API plus batchhook's own (pause/resume, results, events, dead letters).
//!
//! Every decision is the core's ([`crate::access`], [`crate::control`], [`crate::idempotency`],
//! [`crate::index`], [`crate::ingest`]); this module moves bytes between HTTP, the gateway and
//! the two Durable Objects:
//! - per batch, its `BatchLedger` (internal routes under `/api/`, see [`ledger`]), which checks
//!   the caller's workspace against the batch's owner on every call;
//! - the `BatchIndex` (internal routes under `/api/`, see [`index`]) for lists, idempotency
//!   keys and dead letters.
//!
//! # Routes
//! | route | answer |
//! |---|---|
//! | `POST /v1/files` | multipart `file` (+ optional `endpoint`): validated row by row (400 with `error.validation`), then uploaded to the gateway |
//! | `GET /v1/files/{id}/content` | the gateway's bytes, passed through |
//! | `POST /v1/batches` | creates on the gateway with the worker's webhook attached; `Idempotency-Key` or `metadata.client_job_id` replays |
//! | `GET /v1/batches` | the list envelope from the index (`limit`, `status`/`statuses`, `after`) |
//! | `GET /v1/batches/{id}` | the batch plus its `batchhook` block |
//! | `POST /v1/batches/{id}/cancel`, `/pause`, `/resume` | the batch; 409 on an invalid transition |
//! | `GET /v1/batches/{id}/results` | ingested rows, paged (`limit`, `after`) with totals |
//! | `GET /v1/batches/{id}/events` | WebSocket (hibernating) or JSON `?since=<seq>` |
//! | `GET /v1/dead-letters`, `POST /v1/dead-letters/{seq}/replay` | dead letters (see [`dead_letters`]) |
//!
//! A WebSocket from a browser cannot send `Authorization`; it may offer the subprotocols
//! `batchhook` and `bearer.<token>` instead.

mod dead_letters;
mod error;
mod fanout;
mod front;
pub mod index;
pub mod ledger;

pub use error::V1Error;

use crate::access::{CorsDecision, Origins, Tokens, Workspace};
use crate::worker::config;
use worker::{Env, Headers, Method, Request, Response};

/// Answers one `/v1/*` request (including CORS preflights) and never fails: errors are
/// rendered as `{"error":{code,message}}`.
pub async fn route(req: Request, env: &Env) -> worker::Result<Response> {
    let origin = req.headers().get("origin")?;
    let url = req.url()?;
    let self_origin = url.origin().ascii_serialization();
    let preflight =
        req.method() == Method::Options && req.headers().has("access-control-request-method")?;
    let origins = Origins::parse(&config::text(env, "ALLOWED_ORIGINS").unwrap_or_default());
    let cors = match origins.decide(origin.as_deref(), Some(&self_origin), preflight) {
        CorsDecision::Reject { origin } => return V1Error::Origin(origin).into_response(),
        CorsDecision::NotCors => Vec::new(),
        CorsDecision::Allow(headers) => headers,
    };
    if preflight {
        let headers = Headers::new();
        for (name, value) in &cors {
            headers.set(name, value)?;
        }
        return Ok(Response::empty()?.with_status(204).with_headers(headers));
    }
    let websocket = req
        .headers()
        .get("upgrade")?
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let answer = match authenticate(&req, env) {
        Ok((workspace, operator)) => match front::api_base(env, &req) {
            Ok(base) => {
                let caller = Caller {
                    workspace,
                    base,
                    operator,
                };
                front::dispatch(req, env, &caller).await
            }
            Err(err) => Err(err),
        },
        Err(err) => Err(err),
    };
    let response = match answer {
        Ok(response) => response,
        Err(err) => err.into_response()?,
    };
    if websocket || cors.is_empty() {
        return Ok(response);
    }
    with_headers(response, &cors).await
}

/// The same response with `extra` headers added (Durable Object answers have immutable
/// headers, so the response is rebuilt).
pub async fn with_headers(
    mut response: Response,
    extra: &[(String, String)],
) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in response.headers().entries() {
        headers.set(&name, &value)?;
    }
    for (name, value) in extra {
        headers.set(name, value)?;
    }
    let status = response.status_code();
    let body = response.bytes().await?;
    Ok(Response::from_bytes(body)?
        .with_status(status)
        .with_headers(headers))
}

/// An authenticated caller: its workspace (what `Deref` gives) and the API origin it used.
pub struct Caller {
    /// The caller's workspace.
    pub workspace: Workspace,
    /// The API's public origin (`PUBLIC_URL`, else the request's origin).
    pub base: String,
    /// Whether this is the operator workspace (the first in `API_TOKENS`), which sees dead
    /// letters no batch claims.
    pub operator: bool,
}

impl std::ops::Deref for Caller {
    type Target = Workspace;

    fn deref(&self) -> &Workspace {
        &self.workspace
    }
}

/// The caller's workspace from `Authorization: Bearer …`, or from the WebSocket subprotocol
/// `bearer.<token>`, and whether it is the operator workspace.
fn authenticate(req: &Request, env: &Env) -> Result<(Workspace, bool), V1Error> {
    let tokens = Tokens::parse(&config::text(env, "API_TOKENS").unwrap_or_default())
        .map_err(|e| V1Error::Misconfigured(e.to_string()))?;
    let header = req.headers().get("authorization")?;
    let from_protocol = || -> Option<String> {
        let offered = req.headers().get("sec-websocket-protocol").ok()??;
        offered
            .split(',')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("bearer."))
            .map(|token| format!("Bearer {token}"))
    };
    let header = header.or_else(from_protocol);
    let workspace = tokens
        .authenticate(header.as_deref())
        .map_err(V1Error::Auth)?;
    let operator = tokens.operator() == Some(&workspace);
    Ok((workspace, operator))
}
