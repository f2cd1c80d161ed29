//! The list endpoint: query parsing/building with the list-batches reference's rules, the list
//! envelope, and a pure pager over a sorted slice (used by the emulator and the worker's index).
//!
//! Query rules:
//! - `limit`: default 20, accepted range 1..=100. Out of range or not a number is an error
//!   (the caller is told the range) rather than silently clamped, so a client never receives
//!   fewer items than it believes it asked for.
//! - Status filters: `status` repeated and/or comma-separated, and `statuses` comma-separated;
//!   all given values are combined. Each value is a lifecycle name or public alias
//!   (pending|queued, in_progress|running|processing, completed, failed, cancelled|canceled,
//!   expired), plus our two extra states `paused` and `cancelling`; ASCII case-insensitive,
//!   empty items skipped. Anything else is an error naming the accepted values.
//! - `after`: a cursor, the id of the last item of the previous page.
//! - `status[]` is read like `status` (the form some HTTP clients send for arrays).
//! - Other parameters are ignored, so a newer client's extras do not break old servers.

use serde::{Deserialize, Serialize};

use super::lifecycle::LifecycleStatus;
use super::object::Batch;

/// A parsed list query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    /// Maximum items to return, within 1..=[`ListQuery::MAX_LIMIT`].
    pub limit: u32,
    /// Lifecycle statuses to keep; empty means all. Deduplicated, in first-seen order.
    pub statuses: Vec<LifecycleStatus>,
    /// Return items after the one with this id.
    pub after: Option<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            limit: Self::DEFAULT_LIMIT,
            statuses: Vec::new(),
            after: None,
        }
    }
}

/// Why a list query was rejected; every message names what is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListQueryError {
    /// `limit` is not a decimal integer.
    LimitNotANumber {
        /// The value given.
        value: String,
    },
    /// `limit` is outside 1..=100.
    LimitOutOfRange {
        /// The value given.
        value: String,
    },
    /// A status filter value is not a known status or alias.
    UnknownStatus {
        /// The value given.
        value: String,
    },
    /// A parameter that takes one value was given more than once.
    Repeated {
        /// The parameter name.
        name: &'static str,
    },
    /// `after` is empty.
    EmptyCursor,
    /// A `%` escape is malformed or the decoded text is not UTF-8.
    BadEncoding {
        /// The parameter name (or raw key) concerned.
        name: String,
    },
    /// The `after` cursor names no item in the list (when paging a slice).
    UnknownCursor {
        /// The cursor given.
        after: String,
    },
}

impl ListQueryError {
    /// A stable snake_case code for the error envelope.
    pub fn code(&self) -> &'static str {
        match self {
            ListQueryError::LimitNotANumber { .. } | ListQueryError::LimitOutOfRange { .. } => {
                "invalid_limit"
            }
            ListQueryError::UnknownStatus { .. } => "invalid_status",
            ListQueryError::Repeated { .. } => "repeated_parameter",
            ListQueryError::EmptyCursor | ListQueryError::UnknownCursor { .. } => "invalid_cursor",
            ListQueryError::BadEncoding { .. } => "invalid_query_encoding",
        }
    }
}

impl core::fmt::Display for ListQueryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ListQueryError::LimitNotANumber { value } => write!(
                f,
                "limit must be a whole number from 1 to 100, got {value:?}"
            ),
            ListQueryError::LimitOutOfRange { value } => write!(
                f,
                "limit must be from 1 to 100, got {value}; page with `after` to see more"
            ),
            ListQueryError::UnknownStatus { value } => write!(
                f,
                "unknown status filter {value:?}; use pending|queued, in_progress|running|processing, paused, cancelling, completed, failed, cancelled|canceled or expired"
            ),
            ListQueryError::Repeated { name } => {
                write!(f, "{name} may be given only once")
            }
            ListQueryError::EmptyCursor => write!(
                f,
                "after must be the id of the last item of the previous page, got an empty value"
            ),
            ListQueryError::BadEncoding { name } => write!(
                f,
                "query parameter {name:?} is not valid percent-encoded UTF-8"
            ),
            ListQueryError::UnknownCursor { after } => write!(
                f,
                "after={after:?} names no batch in this list; restart paging without `after`"
            ),
        }
    }
}

impl std::error::Error for ListQueryError {}

impl ListQuery {
    /// The limit used when none is given.
    pub const DEFAULT_LIMIT: u32 = 20;
    /// The largest accepted limit.
    pub const MAX_LIMIT: u32 = 100;

    /// Parses a raw query string (with or without the leading `?`), percent-decoding keys and
    /// values and treating `+` as a space.
    pub fn parse(raw: &str) -> Result<ListQuery, ListQueryError> {
        let raw = raw.strip_prefix('?').unwrap_or(raw);
        let mut query = ListQuery::default();
        let mut limit_seen = false;
        for pair in raw.split('&').filter(|pair| !pair.is_empty()) {
            let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(raw_key).ok_or_else(|| ListQueryError::BadEncoding {
                name: raw_key.to_owned(),
            })?;
            let value = || {
                percent_decode(raw_value)
                    .ok_or_else(|| ListQueryError::BadEncoding { name: key.clone() })
            };
            match key.as_str() {
                "limit" => {
                    if limit_seen {
                        return Err(ListQueryError::Repeated { name: "limit" });
                    }
                    limit_seen = true;
                    query.limit = parse_limit(&value()?)?;
                }
                "status" | "status[]" | "statuses" => {
                    for item in value()?.split(',') {
                        query.add_status_filter(item)?;
                    }
                }
                "after" => {
                    if query.after.is_some() {
                        return Err(ListQueryError::Repeated { name: "after" });
                    }
                    let after = value()?;
                    if after.is_empty() {
                        return Err(ListQueryError::EmptyCursor);
                    }
                    query.after = Some(after);
                }
                _ => {}
            }
        }
        Ok(query)
    }

    fn add_status_filter(&mut self, item: &str) -> Result<(), ListQueryError> {
        let item = item.trim();
        if item.is_empty() {
            return Ok(());
        }
        let status = status_filter(item).ok_or_else(|| ListQueryError::UnknownStatus {
            value: item.to_owned(),
        })?;
        if !self.statuses.contains(&status) {
            self.statuses.push(status);
        }
        Ok(())
    }

    /// Builds the query string (without `?`) that [`ListQuery::parse`] reads back as `self`.
    /// The default limit is omitted; statuses use their canonical names as one `status` value.
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if self.limit != Self::DEFAULT_LIMIT {
            parts.push(format!("limit={}", self.limit));
        }
        if !self.statuses.is_empty() {
            let names: Vec<String> = self
                .statuses
                .iter()
                .map(|status| percent_encode(status.as_str()))
                .collect();
            parts.push(format!("status={}", names.join(",")));
        }
        if let Some(after) = &self.after {
            parts.push(format!("after={}", percent_encode(after)));
        }
        parts.join("&")
    }

    /// Whether an item with this lifecycle status passes the status filter.
    pub fn matches(&self, status: Option<&LifecycleStatus>) -> bool {
        self.statuses.is_empty() || status.is_some_and(|status| self.statuses.contains(status))
    }
}

/// Parses one status filter value: a known status or alias; `Unknown` is not a filter.
fn status_filter(item: &str) -> Option<LifecycleStatus> {
    // Raw provider spellings that are not public filter aliases are refused, so a filter never
    // means something surprising (e.g. `finalizing` silently matching every running batch).
    let lower = item.to_ascii_lowercase();
    if matches!(lower.as_str(), "validating" | "finalizing" | "canceling") {
        return None;
    }
    LifecycleStatus::parse_known(item)
}

fn parse_limit(value: &str) -> Result<u32, ListQueryError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ListQueryError::LimitNotANumber {
            value: value.to_owned(),
        });
    }
    match value.parse::<u32>() {
        Ok(limit) if (1..=ListQuery::MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(ListQueryError::LimitOutOfRange {
            value: value.to_owned(),
        }),
    }
}

/// Decodes `application/x-www-form-urlencoded` text; `None` on a bad escape or invalid UTF-8.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let text = core::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(text, 16).ok()?);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The list envelope: `{"object":"list","data":[…],"first_id","last_id","has_more"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListPage<T = Batch> {
    /// Always `"list"`.
    #[serde(default = "list_object")]
    pub object: String,
    /// The items of this page.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    /// Id of the first item, `null` when the page is empty.
    #[serde(default)]
    pub first_id: Option<String>,
    /// Id of the last item (the next page's `after`), `null` when the page is empty.
    #[serde(default)]
    pub last_id: Option<String>,
    /// Whether more matching items follow this page.
    #[serde(default)]
    pub has_more: bool,
}

fn list_object() -> String {
    "list".to_owned()
}

/// An item that can be listed: it has an id and (perhaps) a lifecycle status.
pub trait ListItem {
    /// The id used as the cursor.
    fn list_id(&self) -> &str;
    /// The status the filter looks at.
    fn list_status(&self) -> Option<LifecycleStatus>;
}

impl ListItem for Batch {
    fn list_id(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }

    fn list_status(&self) -> Option<LifecycleStatus> {
        self.lifecycle()
    }
}

/// Pages a slice already sorted in list order (e.g. newest first).
///
/// The cursor is located in the whole slice, not only among matching items, so a page boundary
/// stays valid when the cursor item's status changed since the previous page (it no longer
/// passes the filter). A cursor that names no item is an error, and so is a `limit` outside
/// 1..=100 (possible only for a query built in code, since [`ListQuery::parse`] refuses it).
pub fn page<T: ListItem + Clone>(
    sorted: &[T],
    query: &ListQuery,
) -> Result<ListPage<T>, ListQueryError> {
    if !(1..=ListQuery::MAX_LIMIT).contains(&query.limit) {
        return Err(ListQueryError::LimitOutOfRange {
            value: query.limit.to_string(),
        });
    }
    let start = match &query.after {
        None => 0,
        Some(after) => {
            let position = sorted
                .iter()
                .position(|item| item.list_id() == after)
                .ok_or_else(|| ListQueryError::UnknownCursor {
                    after: after.clone(),
                })?;
            position + 1
        }
    };
    let limit = query.limit as usize;
    let mut matching = sorted[start..]
        .iter()
        .filter(|item| query.matches(item.list_status().as_ref()));
    let data: Vec<T> = matching.by_ref().take(limit).cloned().collect();
    let has_more = matching.next().is_some();
    Ok(ListPage {
        object: list_object(),
        first_id: data.first().map(|item| item.list_id().to_owned()),
        last_id: data.last().map(|item| item.list_id().to_owned()),
        data,
        has_more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn defaults_to_twenty_items_and_no_filter() {
        assert_eq!(ListQuery::parse("").unwrap(), ListQuery::default());
        assert_eq!(ListQuery::default().limit, 20);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_limit_outside_one_to_hundred() {
        for raw in ["limit=0", "limit=101", "limit=99999999999999999999"] {
            let err = ListQuery::parse(raw).unwrap_err();
            assert!(
                matches!(err, ListQueryError::LimitOutOfRange { .. }),
                "{raw}"
            );
        }
        assert_eq!(ListQuery::parse("limit=100").unwrap().limit, 100);
        assert_eq!(ListQuery::parse("limit=1").unwrap().limit, 1);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn combines_repeated_comma_separated_and_statuses_filters() {
        let query =
            ListQuery::parse("?status=queued&status=running,failed&statuses=canceled,pending")
                .unwrap();
        assert_eq!(
            query.statuses,
            vec![
                LifecycleStatus::Pending,
                LifecycleStatus::InProgress,
                LifecycleStatus::Failed,
                LifecycleStatus::Cancelled
            ]
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_an_unknown_status_naming_the_accepted_ones() {
        let err = ListQuery::parse("status=done").unwrap_err();
        assert_eq!(
            err,
            ListQueryError::UnknownStatus {
                value: "done".into()
            }
        );
        assert!(err.to_string().contains("in_progress|running|processing"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_to_page_with_a_limit_built_out_of_range() {
        let query = ListQuery {
            limit: 0,
            ..ListQuery::default()
        };
        let err = page::<Batch>(&[], &query).unwrap_err();
        assert_eq!(err.code(), "invalid_limit");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn builds_a_query_string_that_parses_back() {
        let query = ListQuery {
            limit: 5,
            statuses: vec![LifecycleStatus::Completed, LifecycleStatus::Expired],
            after: Some("batch a&b".into()),
        };
        let built = query.to_query_string();
        assert_eq!(
            built,
            "limit=5&status=completed,expired&after=batch%20a%26b"
        );
        assert_eq!(ListQuery::parse(&built).unwrap(), query);
    }
}
