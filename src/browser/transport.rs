//! The browser's [`Transport`]: moves the core's plain-data requests over `fetch` with gloo-net.
//!
//! web-sys builds the `Request`, gloo-net sends it and reads the `Response`. gloo-net sends
//! through the global `fetch`, so when the caller passed their own `fetch` (a test double, a
//! proxy, a fetch with cookies or a retry policy) the built `Request` is handed to that function
//! instead, as `fetch(request)`, and whatever `Response` it resolves to is read the same way.

use crate::gateway::{Method, Request, Response, Transport, TransportError};
use gloo_net::http::Response as GlooResponse;
use js_sys::{Function, Promise, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Where to send requests and with which credentials. Cloned into every call's future.
#[derive(Clone)]
pub(crate) struct FetchTransport {
    base_url: String,
    token: String,
    fetch: Option<Function>,
    signal: Option<web_sys::AbortSignal>,
}

impl FetchTransport {
    /// A transport to `base_url` (with or without a trailing `/v1`) authenticating with the
    /// bearer `token`, sending through `fetch` when given.
    pub(crate) fn new(base_url: String, token: String, fetch: Option<Function>) -> Self {
        FetchTransport {
            base_url,
            token,
            fetch,
            signal: None,
        }
    }

    /// A copy whose requests are aborted when `signal` fires.
    pub(crate) fn with_signal(&self, signal: Option<web_sys::AbortSignal>) -> Self {
        FetchTransport {
            signal,
            ..self.clone()
        }
    }

    /// The absolute URL of a request path, as [`Request::url`] joins it.
    pub(crate) fn url(&self, path_and_query: &str) -> String {
        let request = Request {
            method: Method::Get,
            path: path_and_query.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        request.url(&self.base_url)
    }

    /// The bearer token, for the WebSocket URL (browsers cannot set headers on a WebSocket).
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// The `Request` for fetch. Built with web-sys directly: gloo-net's builder re-joins the
    /// query string and leaves a stray `&` when the path already carries one.
    fn build(&self, request: &Request) -> Result<web_sys::Request, TransportError> {
        let failed = |e: JsValue| js_message("could not build the request", &e);
        let headers = web_sys::Headers::new().map_err(failed)?;
        for (name, value) in &request.headers {
            headers.append(name, value).map_err(failed)?;
        }
        if !self.token.is_empty() {
            headers
                .append("authorization", &format!("Bearer {}", self.token))
                .map_err(failed)?;
        }
        let init = web_sys::RequestInit::new();
        init.set_method(request.method.as_str());
        init.set_headers(&headers);
        if !request.body.is_empty() || request.method != Method::Get {
            init.set_body(&Uint8Array::from(request.body.as_slice()));
        }
        if let Some(signal) = &self.signal {
            init.set_signal(Some(signal));
        }
        web_sys::Request::new_with_str_and_init(&request.url(&self.base_url), &init).map_err(failed)
    }

    async fn send_raw(&self, request: web_sys::Request) -> Result<GlooResponse, TransportError> {
        let Some(fetch) = &self.fetch else {
            return gloo_net::http::Request::from(request)
                .send()
                .await
                .map_err(|e| TransportError {
                    message: e.to_string(),
                });
        };
        let returned = fetch
            .call1(&JsValue::UNDEFINED, &request)
            .map_err(|e| js_message("the fetch option threw", &e))?;
        let settled = JsFuture::from(Promise::resolve(&returned))
            .await
            .map_err(|e| js_message("the fetch option rejected", &e))?;
        settled
            .dyn_into::<web_sys::Response>()
            .map(GlooResponse::from)
            .map_err(|_| TransportError {
                message: "the fetch option did not resolve to a Response".to_owned(),
            })
    }
}

/// A thrown JavaScript value as text, whatever its type (`Error`, string, anything).
fn js_message(context: &str, value: &JsValue) -> TransportError {
    let detail = value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"));
    TransportError {
        message: format!("{context}: {detail}"),
    }
}

impl Transport for FetchTransport {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        let response = self.send_raw(self.build(&request)?).await?;
        let headers = response.headers().entries().collect();
        let body = response.binary().await.map_err(|e| TransportError {
            message: format!("the response body could not be read: {e}"),
        })?;
        Ok(Response {
            status: response.status(),
            headers,
            body,
        })
    }
}
