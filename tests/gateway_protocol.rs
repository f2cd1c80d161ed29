//! The gateway protocol against fixtures: every error envelope, Retry-After forms, and each
//! endpoint's request bytes and response parsing.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::batch::{LifecycleStatus, ListQuery};
use batchhook::gateway::{
    self, CreateBatch, GatewayError, Method, Response, RetryAfter, UploadParts, WebhookRequest,
};
use std::time::Duration;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/gateway/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn response(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Response {
    Response {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body,
    }
}

fn error_of(status: u16, headers: &[(&str, &str)], file: &str) -> GatewayError {
    gateway::parse_batch(&response(status, headers, fixture(file))).unwrap_err()
}

#[test]
fn reads_the_ai_stats_envelope_as_not_found() {
    let e = error_of(
        404,
        &[("x-request-id", "req_1")],
        "error_aistats_not_found.json",
    );
    let GatewayError::NotFound(api) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(api.code.as_deref(), Some("not_found"));
    assert_eq!(api.message, "Batch not found");
    assert_eq!(api.request_id.as_deref(), Some("req_1"));
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("check the id"), "{e}");
}

#[test]
fn reads_the_openai_envelope_with_type_and_param() {
    let e = error_of(400, &[], "error_openai_invalid_request.json");
    let GatewayError::Rejected(api) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(api.code.as_deref(), Some("integer_above_max_value"));
    assert_eq!(api.param.as_deref(), Some("limit"));
    assert!(e.to_string().contains("param limit"), "{e}");
    assert!(!e.is_retryable());
}

#[test]
fn classifies_a_bad_api_key_as_unauthorized_and_points_at_the_setting() {
    let e = error_of(401, &[], "error_openai_invalid_api_key.json");
    assert!(matches!(e, GatewayError::Unauthorized(_)));
    assert_eq!(
        e.api().unwrap().param,
        None,
        "a JSON null param is no param"
    );
    assert!(e.to_string().contains("GATEWAY_API_KEY"), "{e}");
    assert_eq!(e.code(), "gateway_unauthorized");
}

#[test]
fn classifies_429_as_retryable_with_its_retry_after_seconds() {
    let e = error_of(
        429,
        &[("Retry-After", "20")],
        "error_openai_rate_limited.json",
    );
    assert!(matches!(e, GatewayError::RateLimited(_)));
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(RetryAfter::Seconds(20)));
    assert_eq!(e.retry_delay(0), Some(Duration::from_secs(20)));
    assert!(e.to_string().contains("retry in 20 s"), "{e}");
}

#[test]
fn resolves_a_retry_after_date_against_the_callers_clock() {
    let e = error_of(
        503,
        &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")],
        "error_openai_type_only.json",
    );
    assert!(matches!(e, GatewayError::Unavailable(_)));
    assert!(e.is_retryable());
    let at = 1_445_412_480;
    assert_eq!(e.retry_delay(at - 90), Some(Duration::from_secs(90)));
    assert_eq!(e.retry_delay(at + 5), Some(Duration::ZERO));
}

#[test]
fn falls_back_to_the_openai_type_when_the_code_is_null() {
    let e = error_of(500, &[], "error_openai_type_only.json");
    assert_eq!(e.api().unwrap().code.as_deref(), Some("server_error"));
}

#[test]
fn reads_string_and_top_level_error_forms() {
    let e = error_of(409, &[], "error_string_form.json");
    assert!(matches!(e, GatewayError::Conflict(_)));
    assert_eq!(e.api().unwrap().message, "batch is already completed");
    let e = error_of(500, &[], "error_top_level_message.json");
    assert_eq!(e.api().unwrap().message, "Internal error");
    assert_eq!(e.api().unwrap().code.as_deref(), Some("internal"));
}

#[test]
fn summarises_a_non_json_error_page() {
    let e = error_of(
        502,
        &[("content-type", "text/html")],
        "error_proxy_bad_gateway.html",
    );
    let api = e.api().unwrap();
    assert!(
        api.message
            .starts_with("<html> <head><title>502 Bad Gateway"),
        "{}",
        api.message
    );
    assert!(e.is_retryable());
}

#[test]
fn describes_an_empty_error_body_and_ignores_a_garbage_retry_after() {
    let e =
        gateway::parse_batch(&response(504, &[("retry-after", "soon")], Vec::new())).unwrap_err();
    assert_eq!(e.api().unwrap().message, "HTTP 504 with an empty body");
    assert_eq!(e.retry_after(), None);
}

#[test]
fn treats_request_timeout_as_retryable_and_other_4xx_as_final() {
    let timeout = gateway::parse_batch(&response(408, &[], Vec::new())).unwrap_err();
    assert!(timeout.is_retryable());
    let unprocessable = gateway::parse_batch(&response(422, &[], Vec::new())).unwrap_err();
    assert!(!unprocessable.is_retryable());
}

#[test]
fn reports_a_2xx_with_an_unreadable_body_as_invalid_response() {
    let e = gateway::parse_batch(&response(200, &[], b"[]".to_vec())).unwrap_err();
    assert!(
        matches!(e, GatewayError::InvalidResponse { status: 200, .. }),
        "{e:?}"
    );
    assert!(!e.is_retryable());
}

#[test]
fn parses_a_batch_from_the_reference_shape() {
    let batch =
        gateway::parse_batch(&response(200, &[], fixture("batch_in_progress.json"))).unwrap();
    assert_eq!(batch.id.as_deref(), Some("batch_abc123"));
    assert_eq!(batch.lifecycle(), Some(LifecycleStatus::InProgress));
    assert!(batch.cancel_url.is_some());
}

#[test]
fn parses_the_list_envelope_and_normalises_aliases() {
    let page = gateway::parse_list(&response(200, &[], fixture("batch_list_page.json"))).unwrap();
    assert_eq!(page.data.len(), 2);
    assert!(page.has_more);
    assert_eq!(page.last_id.as_deref(), Some("batch_a"));
    assert_eq!(page.data[1].lifecycle(), Some(LifecycleStatus::Pending));
}

#[test]
fn parses_an_uploaded_file_and_keeps_unknown_fields() {
    let file = gateway::parse_file(&response(200, &[], fixture("file_uploaded.json"))).unwrap();
    assert_eq!(file.id, "file_123");
    assert_eq!(file.purpose.as_deref(), Some("batch"));
    assert_eq!(file.extra["expires_at"], 1_769_817_600);
}

#[test]
fn builds_the_multipart_upload_byte_for_byte() {
    let req = gateway::upload_file("in.jsonl", b"{\"a\":1}\n", "XyZ").unwrap();
    assert_eq!(req.method, Method::Post);
    assert_eq!(req.path, "/v1/files");
    assert_eq!(
        req.header("Content-Type"),
        Some("multipart/form-data; boundary=XyZ")
    );
    let expected = "--XyZ\r\ncontent-disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
        --XyZ\r\ncontent-disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n\
        content-type: application/jsonl\r\n\r\n{\"a\":1}\n\r\n--XyZ--\r\n";
    assert_eq!(String::from_utf8(req.body).unwrap(), expected);
}

#[test]
fn refuses_a_boundary_that_occurs_in_the_file_or_is_malformed() {
    assert!(matches!(
        gateway::upload_file("f", b"a\n--XyZ\n", "XyZ"),
        Err(GatewayError::InvalidArgument(_))
    ));
    assert!(UploadParts::new("f", "has space").is_err());
    assert!(UploadParts::new("f", &"a".repeat(71)).is_err());
    let parts = UploadParts::new("a\"b\r\n.jsonl", "b").unwrap();
    assert!(String::from_utf8(parts.head)
        .unwrap()
        .contains("filename=\"a%22b%0D%0A.jsonl\""));
}

#[test]
fn builds_the_create_request_from_the_recipe() {
    let mut create = CreateBatch::new("file_123", "/v1/chat/completions");
    create.metadata =
        Some(serde_json::from_str(r#"{"job":"nightly-evals","owner":"ranking-worker"}"#).unwrap());
    create.webhook = Some(WebhookRequest {
        url: "https://example.com/api/batch-webhook".into(),
        events: vec!["batch.completed".into(), "batch.failed".into()],
        secret: Some("whsec_your_signing_secret".into()),
    });
    let req = gateway::create_batch(&create, Some("idem-1")).unwrap();
    assert_eq!(
        (req.method, req.path.as_str()),
        (Method::Post, "/v1/batches")
    );
    assert_eq!(req.header("idempotency-key"), Some("idem-1"));
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        r#"{"input_file_id":"file_123","endpoint":"/v1/chat/completions","completion_window":"24h",
            "metadata":{"job":"nightly-evals","owner":"ranking-worker"},
            "webhook":{"url":"https://example.com/api/batch-webhook","events":["batch.completed","batch.failed"],
                       "secret":"whsec_your_signing_secret"}}"#,
    )
    .unwrap();
    assert_eq!(body, expected);
}

#[test]
fn never_prints_the_webhook_secret_in_debug_output() {
    let mut create = CreateBatch::new("file_1", "/v1/chat/completions");
    create.webhook = Some(WebhookRequest {
        url: "https://x".into(),
        events: vec![],
        secret: Some("whsec_topsecret".into()),
    });
    let req = gateway::create_batch(&create, None).unwrap();
    assert!(!format!("{create:?}{req:?}").contains("topsecret"));
}

#[test]
fn rejects_create_requests_the_gateway_would_refuse() {
    type Change = Box<dyn Fn(&mut CreateBatch)>;
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|c| c.input_file_id.clear()),
            "upload the JSONL file first",
        ),
        (
            Box::new(|c| c.endpoint = "chat".into()),
            "/v1/chat/completions",
        ),
        (
            Box::new(|c| c.metadata = Some((0..17).map(|i| (i.to_string(), "v".into())).collect())),
            "at most 16",
        ),
        (
            Box::new(|c| {
                c.metadata = Some(
                    [("k".to_string(), serde_json::json!(1))]
                        .into_iter()
                        .collect(),
                )
            }),
            "must be a string",
        ),
        (
            Box::new(|c| {
                c.webhook = Some(WebhookRequest {
                    url: "ftp://x".into(),
                    events: vec![],
                    secret: None,
                })
            }),
            "http(s)",
        ),
    ];
    for (change, hint) in cases {
        let mut create = CreateBatch::new("file_1", "/v1/chat/completions");
        change(&mut create);
        let e = gateway::create_batch(&create, None).unwrap_err();
        assert!(e.to_string().contains(hint), "{e} should mention {hint}");
    }
}

#[test]
fn encodes_ids_as_single_path_segments() {
    assert_eq!(
        gateway::get_batch("batch_1").unwrap().path,
        "/v1/batches/batch_1"
    );
    assert_eq!(
        gateway::cancel_batch("a/b?c").unwrap().path,
        "/v1/batches/a%2Fb%3Fc/cancel"
    );
    assert_eq!(
        gateway::file_content("file 1").unwrap().path,
        "/v1/files/file%201/content"
    );
    assert_eq!(gateway::get_file("f").unwrap().method, Method::Get);
    assert!(gateway::get_batch("").is_err());
}

#[test]
fn builds_list_queries_with_statuses_and_cursor() {
    let query = ListQuery::parse("limit=5&status=queued,running&after=batch_9").unwrap();
    let req = gateway::list_batches(&query);
    assert_eq!(
        req.path,
        "/v1/batches?limit=5&status=pending,in_progress&after=batch_9"
    );
    assert_eq!(
        gateway::list_batches(&ListQuery::default()).path,
        "/v1/batches"
    );
}

#[test]
fn joins_paths_to_a_base_with_or_without_v1() {
    let req = gateway::get_batch("b").unwrap();
    assert_eq!(
        req.url("https://api.phaseo.app/v1/"),
        "https://api.phaseo.app/v1/batches/b"
    );
    assert_eq!(
        req.url("http://127.0.0.1:8787"),
        "http://127.0.0.1:8787/v1/batches/b"
    );
}
