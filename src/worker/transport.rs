//! The gateway [`Transport`] over the Workers `fetch` API.

use crate::gateway::{self, Transport, TransportError};
use worker::{Fetch, Headers, Method, Request, RequestInit};

/// Sends core-built gateway requests with `fetch`, adding the base URL and the API key.
pub struct FetchTransport {
    base_url: String,
    api_key: Option<String>,
}

impl FetchTransport {
    /// A transport for the gateway at `base_url`, authenticating with `api_key` when given.
    pub fn new(base_url: String, api_key: Option<String>) -> Self {
        Self { base_url, api_key }
    }

    async fn try_send(&self, request: gateway::Request) -> worker::Result<gateway::Response> {
        let headers = Headers::new();
        for (name, value) in &request.headers {
            headers.append(name, value)?;
        }
        if let Some(key) = &self.api_key {
            headers.set("authorization", &format!("Bearer {key}"))?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(request.method.as_str().to_string()))
            .with_headers(headers);
        if !request.body.is_empty() {
            init.with_body(Some(
                js_sys::Uint8Array::from(request.body.as_slice()).into(),
            ));
        }
        let req = Request::new_with_init(&request.url(&self.base_url), &init)?;
        let mut resp = Fetch::Request(req).send().await?;
        let headers = resp.headers().entries().collect();
        Ok(gateway::Response {
            status: resp.status_code(),
            headers,
            body: resp.bytes().await?,
        })
    }
}

impl Transport for FetchTransport {
    async fn send(&self, request: gateway::Request) -> Result<gateway::Response, TransportError> {
        self.try_send(request).await.map_err(|e| TransportError {
            message: e.to_string(),
        })
    }
}
