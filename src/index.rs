//! The batch index's rules: what a ledger sends it, which update wins, which status a batch is
//! listed under, and how a stored range of entries becomes one list page.
//!
//! Order: newest first by registration sequence (`seq`, assigned when the index first hears of
//! a batch), so many batches created in the same second still page deterministically. The
//! `after` cursor is a batch id; the store looks up that entry's `seq` in the caller's
//! workspace and reads entries with a smaller one (an id from another workspace is an unknown
//! cursor, not a leak). The page itself — filter, limit, `has_more`, envelope — is
//! [`crate::batch::page`], applied to the entries after the cursor.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::batch::{page, Batch, LifecycleStatus, ListItem, ListPage, ListQuery, ListQueryError};
use crate::control::Control;

/// What a ledger's outbox sends the index when its batch changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexUpdate {
    /// The owning workspace.
    pub workspace: String,
    /// The batch id.
    pub id: String,
    /// The ledger's change counter; a higher one replaces a lower one.
    pub version: u64,
    /// The status the batch is listed under ([`listed_status`]).
    pub status: Option<LifecycleStatus>,
    /// The public batch object as `GET /v1/batches/{id}` shows it (no `batchhook` block).
    pub batch: Value,
}

/// The status a batch is listed and filtered under: the gateway's lifecycle, except that a
/// non-terminal batch whose polling an operator paused is listed as `paused`.
pub fn listed_status(batch: &Batch, control: &Control) -> Option<LifecycleStatus> {
    listed(batch.lifecycle(), control.paused)
}

/// [`listed_status`] from a lifecycle status and the pause flag alone (what the index keeps).
pub fn listed(status: Option<LifecycleStatus>, paused: bool) -> Option<LifecycleStatus> {
    match &status {
        Some(s) if paused && !s.is_terminal() => Some(LifecycleStatus::Paused),
        None if paused => Some(LifecycleStatus::Paused),
        _ => status,
    }
}

/// Whether an update with `incoming` version replaces what is stored (`None`: nothing yet).
/// Outbox deliveries may repeat or arrive out of order; only newer ones win.
pub fn replaces(stored: Option<u64>, incoming: u64) -> bool {
    stored.is_none_or(|stored| incoming > stored)
}

/// One stored entry, newest first by `seq`.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Registration order in the index.
    pub seq: i64,
    /// The batch id.
    pub id: String,
    /// The listed status.
    pub status: Option<LifecycleStatus>,
    /// The public batch object.
    pub batch: Value,
}

impl ListItem for Entry {
    fn list_id(&self) -> &str {
        &self.id
    }

    fn list_status(&self) -> Option<LifecycleStatus> {
        self.status.clone()
    }
}

/// What the store must read for a query: entries of the workspace with `seq` below the
/// cursor's (when `after` is set), whose status is one of `statuses` (all when empty), newest
/// first, at most `fetch` of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Canonical status names to keep; empty keeps all.
    pub statuses: Vec<String>,
    /// The cursor id, to be resolved to its `seq` within the workspace.
    pub after: Option<String>,
    /// How many entries to read: one more than the limit, to learn `has_more`.
    pub fetch: u32,
}

/// The read plan for a parsed query.
pub fn plan(query: &ListQuery) -> Plan {
    Plan {
        statuses: query
            .statuses
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        after: query.after.clone(),
        fetch: query.limit + 1,
    }
}

/// Builds the page from what the store read for [`plan`]. `cursor_found` says whether the
/// `after` id resolved in the workspace (ignored without `after`).
pub fn assemble(
    entries: Vec<Entry>,
    query: &ListQuery,
    cursor_found: bool,
) -> Result<ListPage<Value>, ListQueryError> {
    if let (Some(after), false) = (&query.after, cursor_found) {
        return Err(ListQueryError::UnknownCursor {
            after: after.clone(),
        });
    }
    let rest = ListQuery {
        after: None,
        ..query.clone()
    };
    let found = page(&entries, &rest)?;
    Ok(ListPage {
        object: found.object,
        first_id: found.first_id,
        last_id: found.last_id,
        has_more: found.has_more,
        data: found.data.into_iter().map(|e| e.batch).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn entries(n: i64) -> Vec<Entry> {
        (0..n)
            .rev()
            .map(|seq| Entry {
                seq,
                id: format!("batch_{seq}"),
                status: Some(if seq % 3 == 0 {
                    LifecycleStatus::Completed
                } else {
                    LifecycleStatus::InProgress
                }),
                batch: json!({"id": format!("batch_{seq}")}),
            })
            .collect()
    }

    /// What a store does with a plan, over an in-memory table.
    fn read(all: &[Entry], plan: &Plan) -> (Vec<Entry>, bool) {
        let (below, found) = match &plan.after {
            None => (i64::MAX, true),
            Some(id) => match all.iter().find(|e| &e.id == id) {
                Some(e) => (e.seq, true),
                None => (i64::MIN, false),
            },
        };
        let rows = all
            .iter()
            .filter(|e| e.seq < below)
            .filter(|e| {
                plan.statuses.is_empty()
                    || e.status
                        .as_ref()
                        .is_some_and(|s| plan.statuses.iter().any(|p| p == s.as_str()))
            })
            .take(plan.fetch as usize)
            .cloned()
            .collect();
        (rows, found)
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn pages_through_every_entry_exactly_once() {
        let all = entries(250);
        let mut query = ListQuery::parse("limit=100&status=running").unwrap();
        let mut seen = Vec::new();
        loop {
            let (rows, found) = read(&all, &plan(&query));
            let page = assemble(rows, &query, found).unwrap();
            seen.extend(
                page.data
                    .iter()
                    .map(|b| b["id"].as_str().unwrap().to_owned()),
            );
            if !page.has_more {
                break;
            }
            query.after = page.last_id.clone();
        }
        let expected: Vec<String> = all
            .iter()
            .filter(|e| e.status == Some(LifecycleStatus::InProgress))
            .map(|e| e.id.clone())
            .collect();
        assert_eq!(seen, expected);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_one_more_than_the_limit_to_learn_has_more() {
        let query = ListQuery::parse("limit=5").unwrap();
        assert_eq!(plan(&query).fetch, 6);
        let (rows, found) = read(&entries(5), &plan(&query));
        let page = assemble(rows, &query, found).unwrap();
        assert_eq!(page.data.len(), 5);
        assert!(!page.has_more);
        assert_eq!(page.first_id.as_deref(), Some("batch_4"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_a_cursor_the_workspace_does_not_have() {
        let query = ListQuery::parse("after=batch_other").unwrap();
        let err = assemble(Vec::new(), &query, false).unwrap_err();
        assert_eq!(err.code(), "invalid_cursor");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn keeps_only_newer_updates() {
        assert!(replaces(None, 0));
        assert!(replaces(Some(3), 4));
        assert!(!replaces(Some(4), 4));
        assert!(!replaces(Some(5), 4));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn lists_a_paused_running_batch_as_paused_but_a_finished_one_as_finished() {
        let paused = Control::default().pause(None, false, "a", 1).unwrap();
        let running = Batch::from_value(json!({"status": "in_progress"})).unwrap();
        let done = Batch::from_value(json!({"status": "completed"})).unwrap();
        assert_eq!(
            listed_status(&running, &paused),
            Some(LifecycleStatus::Paused)
        );
        assert_eq!(
            listed_status(&done, &paused),
            Some(LifecycleStatus::Completed)
        );
        assert_eq!(
            listed_status(&running, &Control::default()),
            Some(LifecycleStatus::InProgress)
        );
        assert_eq!(listed(None, true), Some(LifecycleStatus::Paused));
        assert_eq!(listed(None, false), None);
    }
}
