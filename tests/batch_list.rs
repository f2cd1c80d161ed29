//! The list query and pager: edge cases from the reference's rules, and paging properties.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::batch::{page, Batch, LifecycleStatus, ListPage, ListQuery, ListQueryError};
use proptest::prelude::*;

fn err(raw: &str) -> ListQueryError {
    ListQuery::parse(raw).expect_err(raw)
}

#[test]
fn rejects_a_limit_that_is_not_a_whole_number() {
    for raw in [
        "limit=",
        "limit=abc",
        "limit=-1",
        "limit=1.5",
        "limit=+5",
        "limit= 5",
        "limit",
    ] {
        assert!(
            matches!(err(raw), ListQueryError::LimitNotANumber { .. }),
            "{raw}"
        );
    }
}

#[test]
fn accepts_leading_zeros_and_an_encoded_limit() {
    assert_eq!(ListQuery::parse("limit=007").unwrap().limit, 7);
    assert_eq!(ListQuery::parse("limit=%34%32").unwrap().limit, 42);
}

#[test]
fn explains_the_range_when_the_limit_is_too_large() {
    let message = err("limit=500").to_string();
    assert!(
        message.contains("1 to 100") && message.contains("500"),
        "{message}"
    );
    assert_eq!(err("limit=500").code(), "invalid_limit");
}

#[test]
fn rejects_repeated_single_value_parameters() {
    assert_eq!(
        err("limit=2&limit=3"),
        ListQueryError::Repeated { name: "limit" }
    );
    assert_eq!(
        err("after=a&after=b"),
        ListQueryError::Repeated { name: "after" }
    );
}

#[test]
fn rejects_an_empty_cursor() {
    assert_eq!(err("after="), ListQueryError::EmptyCursor);
}

#[test]
fn rejects_malformed_percent_encoding() {
    assert!(matches!(
        err("after=%+1"),
        ListQueryError::BadEncoding { .. }
    ));
    assert!(matches!(
        err("status=%ZZ"),
        ListQueryError::BadEncoding { .. }
    ));
    assert!(matches!(
        err("status=%FF"),
        ListQueryError::BadEncoding { .. }
    ));
    assert!(matches!(
        err("after=%4"),
        ListQueryError::BadEncoding { .. }
    ));
}

#[test]
fn accepts_every_public_status_alias() {
    let cases = [
        ("pending", LifecycleStatus::Pending),
        ("queued", LifecycleStatus::Pending),
        ("in_progress", LifecycleStatus::InProgress),
        ("running", LifecycleStatus::InProgress),
        ("processing", LifecycleStatus::InProgress),
        ("completed", LifecycleStatus::Completed),
        ("failed", LifecycleStatus::Failed),
        ("cancelled", LifecycleStatus::Cancelled),
        ("canceled", LifecycleStatus::Cancelled),
        ("expired", LifecycleStatus::Expired),
        ("paused", LifecycleStatus::Paused),
        ("cancelling", LifecycleStatus::Cancelling),
        ("COMPLETED", LifecycleStatus::Completed),
    ];
    for (raw, expected) in cases {
        for key in ["status", "statuses"] {
            let query = ListQuery::parse(&format!("{key}={raw}")).unwrap();
            assert_eq!(query.statuses, vec![expected.clone()], "{key}={raw}");
        }
    }
}

#[test]
fn refuses_raw_provider_statuses_that_are_not_filter_aliases() {
    for raw in [
        "finalizing",
        "validating",
        "canceling",
        "done",
        "Rehydrating",
    ] {
        assert!(
            matches!(
                err(&format!("status={raw}")),
                ListQueryError::UnknownStatus { .. }
            ),
            "{raw}"
        );
    }
}

#[test]
fn skips_empty_filter_items_and_ignores_unknown_parameters() {
    let query = ListQuery::parse("status=&statuses=pending,,failed,&order=desc&x").unwrap();
    assert_eq!(
        query.statuses,
        vec![LifecycleStatus::Pending, LifecycleStatus::Failed]
    );
    assert_eq!(query.limit, 20);
}

#[test]
fn deduplicates_aliases_of_the_same_status() {
    let query = ListQuery::parse("status=queued,pending&status=Pending").unwrap();
    assert_eq!(query.statuses, vec![LifecycleStatus::Pending]);
}

fn batch(id: &str, status: &str) -> Batch {
    Batch {
        id: Some(id.to_owned()),
        status: Some(status.to_owned()),
        ..Batch::default()
    }
}

#[test]
fn an_empty_page_has_null_ids_and_no_more() {
    let got = page::<Batch>(&[], &ListQuery::default()).unwrap();
    assert_eq!(
        serde_json::to_value(&got).unwrap(),
        serde_json::json!({"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false})
    );
}

#[test]
fn rejects_a_cursor_that_names_no_item() {
    let items = [batch("b1", "completed")];
    let query = ListQuery::parse("after=b9").unwrap();
    assert_eq!(
        page(&items, &query).unwrap_err(),
        ListQueryError::UnknownCursor { after: "b9".into() }
    );
}

#[test]
fn continues_after_a_cursor_whose_status_no_longer_matches() {
    // b2 was in_progress on the previous page and has completed since.
    let items = [
        batch("b1", "in_progress"),
        batch("b2", "completed"),
        batch("b3", "running"),
    ];
    let query = ListQuery::parse("status=in_progress&after=b2").unwrap();
    let got = page(&items, &query).unwrap();
    assert_eq!(got.first_id.as_deref(), Some("b3"));
    assert!(!got.has_more);
}

#[test]
fn has_more_is_true_only_when_another_matching_item_follows() {
    let items = [
        batch("b1", "failed"),
        batch("b2", "completed"),
        batch("b3", "failed"),
        batch("b4", "completed"),
    ];
    let one = ListQuery::parse("limit=1&status=failed").unwrap();
    let first = page(&items, &one).unwrap();
    assert_eq!(first.last_id.as_deref(), Some("b1"));
    assert!(first.has_more);
    let next = ListQuery {
        after: first.last_id,
        ..one
    };
    let second = page(&items, &next).unwrap();
    assert_eq!(second.last_id.as_deref(), Some("b3"));
    assert!(!second.has_more, "b4 does not match the filter");
}

fn status_name() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "queued",
        "validating",
        "in_progress",
        "finalizing",
        "paused",
        "cancelling",
        "completed",
        "failed",
        "canceled",
        "expired",
        "mystery",
    ])
}

fn query() -> impl Strategy<Value = ListQuery> {
    (
        1u32..=100,
        proptest::sample::subsequence(LifecycleStatus::KNOWN.to_vec(), 0..4),
        proptest::option::of("\\PC{1,12}"),
    )
        .prop_map(|(limit, statuses, after)| ListQuery {
            limit,
            statuses,
            after,
        })
}

proptest! {
    #[test]
    fn a_built_query_parses_back_to_itself(query in query()) {
        let built = query.to_query_string();
        prop_assert_eq!(ListQuery::parse(&built).unwrap(), query.clone());
        prop_assert_eq!(ListQuery::parse(&format!("?{built}")).unwrap(), query);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(raw in "\\PC{0,40}") {
        let _ = ListQuery::parse(&raw);
    }

    #[test]
    fn paging_to_the_end_yields_each_matching_item_once_in_order(
        statuses in proptest::collection::vec(status_name(), 0..40),
        filter in proptest::sample::subsequence(LifecycleStatus::KNOWN.to_vec(), 0..3),
        limit in 1u32..=7,
    ) {
        let items: Vec<Batch> = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| batch(&format!("b{i}"), s))
            .collect();
        let expected: Vec<String> = items
            .iter()
            .filter(|b| filter.is_empty() || b.lifecycle().is_some_and(|s| filter.contains(&s)))
            .map(|b| b.id.clone().unwrap())
            .collect();
        let mut query = ListQuery { limit, statuses: filter, after: None };
        let mut seen = Vec::new();
        loop {
            let got: ListPage = page(&items, &query).unwrap();
            prop_assert!(got.data.len() <= limit as usize);
            seen.extend(got.data.iter().map(|b| b.id.clone().unwrap()));
            if !got.has_more {
                break;
            }
            prop_assert!(!got.data.is_empty());
            query.after = got.last_id;
        }
        prop_assert_eq!(seen, expected);
    }
}
