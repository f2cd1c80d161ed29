//! `GET /v1/batches/{id}/ws`: a WebSocket that sends the batch object now and after every
//! change (at most every 50 ms), and closes once a terminal state has been sent.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;

use crate::error::ApiError;
use crate::render::batch_json;
use crate::state::App;

/// Upgrades, if the batch exists.
pub async fn subscribe(
    State(app): State<App>,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let rx = {
        let st = app.lock();
        let b = st
            .batches
            .get(&id)
            .ok_or_else(|| ApiError::NotFound(format!("No batch with id `{id}`.")))?;
        b.version.subscribe()
    };
    Ok(ws.on_upgrade(move |socket| stream(app, id, rx, socket)))
}

async fn stream(
    app: App,
    id: String,
    mut rx: tokio::sync::watch::Receiver<u64>,
    mut socket: WebSocket,
) {
    loop {
        let (text, terminal) = {
            let st = app.lock();
            let Some(b) = st.batches.get(&id) else { return };
            (
                batch_json(b, &app.0.base_url).to_string(),
                b.status.is_terminal(),
            )
        };
        if socket.send(Message::Text(text.into())).await.is_err() {
            return;
        }
        if terminal {
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if rx.changed().await.is_err() {
            return;
        }
    }
}
