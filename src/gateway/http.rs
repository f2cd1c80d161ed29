//! Plain-data HTTP requests and responses, and the [`Transport`] the adapters implement.

use std::fmt;
use std::future::Future;

/// The HTTP methods the gateway API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

impl Method {
    /// The method's wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A request to the gateway, relative to its base URL and without credentials: the
/// [`Transport`] adds both, so the API key never passes through the core.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// Path and query, e.g. `/v1/batches?limit=20`.
    pub path: String,
    /// Headers to send, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body; empty for `GET`.
    pub body: Vec<u8>,
}

impl Request {
    pub(crate) fn new(method: Method, path: String) -> Self {
        Request {
            method,
            path,
            headers: vec![("accept".to_owned(), "application/json".to_owned())],
            body: Vec::new(),
        }
    }

    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The full URL for a base such as `https://api.phaseo.app` (a trailing `/` or `/v1` on the
    /// base is tolerated).
    pub fn url(&self, base: &str) -> String {
        let base = base.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        format!("{base}{}", self.path)
    }
}

/// The body is summarised: a create request carries the webhook signing secret.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &self.headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

/// A response from the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Response headers (any case).
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The request id the gateway gave this response, for correlation in logs and support.
    pub fn request_id(&self) -> Option<&str> {
        self.header("x-request-id")
            .or_else(|| self.header("request-id"))
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A request that got no HTTP response at all (DNS, connection refused or reset, timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// What went wrong, as the platform reported it.
    pub message: String,
}

/// Sends requests to the gateway. Implemented by the worker (`Fetch`), the browser (`gloo-net`)
/// and test fakes.
///
/// The implementation joins [`Request::path`] to its base URL and adds the `Authorization`
/// header. Any HTTP response, including 4xx and 5xx, is `Ok`: the core classifies it. The future
/// need not be `Send` (wasm futures are not), so the trait is used generically, not as a
/// `dyn` object.
pub trait Transport {
    /// Sends one request and returns the response, or why there was none.
    fn send(&self, request: Request) -> impl Future<Output = Result<Response, TransportError>>;
}

impl<T: Transport> Transport for &T {
    fn send(&self, request: Request) -> impl Future<Output = Result<Response, TransportError>> {
        (**self).send(request)
    }
}
