//! The webhook event payload: what a delivery's body says about a batch.
//!
//! Two families of payloads arrive and both parse into [`Event`]:
//!
//! 1. **Thin events** (OpenAI's project webhooks):
//!    `{"id":"evt_…","object":"event","type":"batch.completed","created_at":1767225600,"data":{"id":"batch_…"}}`.
//!    They carry only the batch id; the type hints at a status but the batch object (output
//!    file, counts) is missing, so the receiver must poll ([`Claim::Thin`]).
//! 2. **Full events** (the AI Stats gateway's normalised async-job payload, recipe §5, and what
//!    our gateway emulator sends). The exact shape batchhook produces and documents is:
//!
//! ```json
//! {
//!   "id": "evt_…",
//!   "object": "event",
//!   "type": "batch.completed",
//!   "created_at": 1767225600,
//!   "job_id": "batch_…",
//!   "job_kind": "batch",
//!   "lifecycle_status": "completed",
//!   "signing_enabled": true,
//!   "webhook": { "url": "https://…", "events": ["batch.completed"], "has_secret": true },
//!   "delivery": { "total_attempts": 1, "pending_retries": 0, … },
//!   "attempts": [ { "id": "…", "delivery_key": "…", "attempt_number": 1, … } ],
//!   "data": { …the full batch object, as GET /v1/batches/{id} returns it… }
//! }
//! ```
//!
//! `webhook` is the sanitised configuration (never the secret), `delivery` the delivery summary
//! and `attempts` the recent attempts, all with the batch object's field names. [`Event::for_batch`]
//! builds exactly this from a [`Batch`]. The parser is tolerant like the batch: every field is
//! optional and unknown ones are kept; the delivery summary, attempts and signing flag are also
//! read from inside `webhook` (where the batch object keeps them) when absent at the top level.
//! The one hard requirement is a batch id (`data.id` or `job_id`), since a delivery that names
//! no batch cannot be routed.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::batch::tolerant::{field_value_by_serde, tolerant_struct};
use crate::batch::{
    Batch, LifecycleStatus, ParseError, WebhookAttempt, WebhookDelivery, WebhookInfo,
};

field_value_by_serde!(EventType);

tolerant_struct! {
    /// A webhook event payload (thin or full; see the module docs).
    pub struct Event {
        /// Event id, e.g. `evt_…` (often equal to the `webhook-id` header).
        id: String = "id",
        /// `"event"`.
        object: String = "object",
        /// Event type, e.g. `batch.completed`.
        event_type: EventType = "type",
        /// Event time (Unix seconds).
        created_at: i64 = "created_at",
        /// The job's id (the batch id for batch jobs).
        job_id: String = "job_id",
        /// The job's kind, e.g. `batch` (the gateway also runs other async jobs, e.g. `video`).
        job_kind: String = "job_kind",
        /// The job's lifecycle status at the time of the event.
        lifecycle_status: LifecycleStatus = "lifecycle_status",
        /// Whether the delivery is signed.
        signing_enabled: bool = "signing_enabled",
        /// Sanitised webhook configuration.
        webhook: WebhookInfo = "webhook",
        /// Delivery summary.
        delivery: WebhookDelivery = "delivery",
        /// Recent delivery attempts.
        attempts: Vec<WebhookAttempt> = "attempts",
        /// The batch: the full object, or only `{"id": …}` in a thin event.
        data: Batch = "data",
    }
}

/// Why a webhook body could not be read as an event.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// The body is not a JSON object.
    Parse(ParseError),
    /// Neither `data.id` nor `job_id` is present, so the event names no batch.
    MissingBatchId,
    /// `data.id` and `job_id` are both present and differ.
    ConflictingBatchIds {
        /// `job_id`.
        job_id: String,
        /// `data.id`.
        data_id: String,
    },
}

impl EventError {
    /// A stable snake_case code for the error envelope.
    pub fn code(&self) -> &'static str {
        match self {
            EventError::Parse(_) => "invalid_event_payload",
            EventError::MissingBatchId => "missing_batch_id",
            EventError::ConflictingBatchIds { .. } => "conflicting_batch_ids",
        }
    }
}

impl core::fmt::Display for EventError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EventError::Parse(err) => err.fmt(f),
            EventError::MissingBatchId => write!(
                f,
                "the event names no batch: send the batch id as data.id (or job_id)"
            ),
            EventError::ConflictingBatchIds { job_id, data_id } => write!(
                f,
                "the event's job_id {job_id:?} differs from data.id {data_id:?}; they must name the same batch"
            ),
        }
    }
}

impl std::error::Error for EventError {}

impl From<ParseError> for EventError {
    fn from(err: ParseError) -> Self {
        EventError::Parse(err)
    }
}

/// What an event says about the batch's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The payload states the lifecycle status (top-level `lifecycle_status`, or the status of a
    /// full batch object in `data`).
    Status(LifecycleStatus),
    /// The payload names the batch but not its state: the receiver must poll. `implied` is the
    /// status the event type suggests (`batch.completed` → completed), a hint only.
    Thin {
        /// The status suggested by the event type, if any.
        implied: Option<LifecycleStatus>,
    },
}

impl Event {
    /// Parses a webhook body (the raw bytes already verified by the signature check).
    pub fn from_json(bytes: &[u8]) -> Result<Event, EventError> {
        let map = ParseError::parse_object(bytes, "event")?;
        Event::checked(Event::from_map(map))
    }

    /// Builds an event from an already parsed JSON value; see [`Event::from_json`].
    pub fn from_value(value: Value) -> Result<Event, EventError> {
        match value {
            Value::Object(map) => Event::checked(Event::from_map(map)),
            other => Err(EventError::Parse(ParseError::not_an_object(
                "event", &other,
            ))),
        }
    }

    fn checked(event: Event) -> Result<Event, EventError> {
        let data_id = event.data.as_ref().and_then(|d| d.id.as_deref());
        match (event.job_id.as_deref(), data_id) {
            (None, None) => Err(EventError::MissingBatchId),
            (Some(job_id), Some(data_id)) if job_id != data_id => {
                Err(EventError::ConflictingBatchIds {
                    job_id: job_id.to_owned(),
                    data_id: data_id.to_owned(),
                })
            }
            _ => Ok(event),
        }
    }

    /// The batch this event is about (`data.id`, else `job_id`). Always present on an event
    /// returned by [`Event::from_json`].
    pub fn batch_id(&self) -> Option<&str> {
        self.data
            .as_ref()
            .and_then(|d| d.id.as_deref())
            .or(self.job_id.as_deref())
    }

    /// What the payload claims about the batch's state; see [`Claim`].
    pub fn claim(&self) -> Claim {
        let known = |status: &LifecycleStatus| status.rank().is_some();
        if let Some(status) = self.lifecycle_status.as_ref().filter(|s| known(s)) {
            return Claim::Status(status.clone());
        }
        if let Some(status) = self.data.as_ref().and_then(Batch::lifecycle).filter(known) {
            return Claim::Status(status);
        }
        Claim::Thin {
            implied: self
                .event_type
                .as_ref()
                .and_then(|t| t.action().implied_status()),
        }
    }

    /// The full batch object, if the event carries more than an id.
    pub fn batch(&self) -> Option<&Batch> {
        self.data.as_ref().filter(|d| !d.is_thin())
    }

    /// The delivery summary: top-level `delivery`, else `webhook.delivery`.
    pub fn delivery_summary(&self) -> Option<&WebhookDelivery> {
        self.delivery
            .as_ref()
            .or_else(|| self.webhook.as_ref().and_then(|w| w.delivery.as_ref()))
    }

    /// The recent attempts: top-level `attempts`, else `webhook.attempts` (empty if neither).
    pub fn recent_attempts(&self) -> &[WebhookAttempt] {
        self.attempts
            .as_deref()
            .or_else(|| self.webhook.as_ref().and_then(|w| w.attempts.as_deref()))
            .unwrap_or(&[])
    }

    /// Whether the sender signs deliveries: `signing_enabled`, else `webhook.has_secret`.
    pub fn signing_enabled(&self) -> Option<bool> {
        self.signing_enabled
            .or_else(|| self.webhook.as_ref().and_then(|w| w.has_secret))
    }

    /// Builds the full event batchhook's emulator sends (the shape in the module docs): job id,
    /// kind `batch`, lifecycle status, sanitised webhook config (url, events, has_secret), the
    /// delivery summary and attempts (taken from `batch.webhook`), the signing flag, and the
    /// whole batch as `data`.
    pub fn for_batch(id: &str, event_type: EventType, created_at: i64, batch: &Batch) -> Event {
        let webhook = batch.webhook.as_ref();
        let config = webhook.map(|w| WebhookInfo {
            url: w.url.clone(),
            events: w.events.clone(),
            has_secret: w.has_secret,
            ..WebhookInfo::default()
        });
        Event {
            id: Some(id.to_owned()),
            object: Some("event".to_owned()),
            event_type: Some(event_type),
            created_at: Some(created_at),
            job_id: batch.id.clone(),
            job_kind: Some("batch".to_owned()),
            lifecycle_status: batch.lifecycle(),
            signing_enabled: webhook.and_then(|w| w.has_secret),
            webhook: config,
            delivery: webhook.and_then(|w| w.delivery.clone()),
            attempts: webhook.and_then(|w| w.attempts.clone()),
            data: Some(batch.clone()),
            extra: Default::default(),
        }
    }

    /// Builds a thin event like OpenAI's: id, type, time and `data: {"id": batch_id}`.
    pub fn thin(id: &str, event_type: EventType, created_at: i64, batch_id: &str) -> Event {
        Event {
            id: Some(id.to_owned()),
            object: Some("event".to_owned()),
            event_type: Some(event_type),
            created_at: Some(created_at),
            data: Some(Batch {
                id: Some(batch_id.to_owned()),
                ..Batch::default()
            }),
            ..Event::default()
        }
    }

    /// The event as compact JSON text (unknown fields included).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// An event type such as `batch.completed`: a job kind and an action, kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventType {
    raw: String,
}

impl EventType {
    /// Wraps any event type text.
    pub fn new(raw: impl Into<String>) -> EventType {
        EventType { raw: raw.into() }
    }

    /// The `batch.<action>` type for an action.
    pub fn batch(action: &EventAction) -> EventType {
        EventType::new(format!("batch.{}", action.as_str()))
    }

    /// The `batch.<status>` type announcing a lifecycle status.
    pub fn for_status(status: &LifecycleStatus) -> EventType {
        EventType::new(format!("batch.{}", status.as_str()))
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The job kind before the first `.` (`batch` in `batch.completed`); empty if none.
    pub fn kind(&self) -> &str {
        self.raw.split_once('.').map_or("", |(kind, _)| kind)
    }

    /// The action after the first `.` (the whole text if there is no `.`).
    pub fn action(&self) -> EventAction {
        let action = self
            .raw
            .split_once('.')
            .map_or(self.raw.as_str(), |(_, a)| a);
        EventAction::parse(action)
    }
}

impl core::fmt::Display for EventType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(EventType::new)
    }
}

/// The action part of an event type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventAction {
    /// The job was created.
    Created,
    /// Progress was made (counts changed).
    Progress,
    /// The job moved to a lifecycle status (`batch.completed`, `batch.canceled`, …).
    Status(LifecycleStatus),
    /// An action this version does not know, kept verbatim.
    Unknown(String),
}

impl EventAction {
    /// Parses an action; status spellings go through [`LifecycleStatus::parse_known`].
    pub fn parse(raw: &str) -> EventAction {
        match raw {
            "created" => EventAction::Created,
            "progress" => EventAction::Progress,
            _ => match LifecycleStatus::parse_known(raw) {
                Some(status) => EventAction::Status(status),
                None => EventAction::Unknown(raw.to_owned()),
            },
        }
    }

    /// The canonical text of the action.
    pub fn as_str(&self) -> &str {
        match self {
            EventAction::Created => "created",
            EventAction::Progress => "progress",
            EventAction::Status(status) => status.as_str(),
            EventAction::Unknown(raw) => raw,
        }
    }

    /// The lifecycle status this action suggests: created → pending, progress → in_progress,
    /// a status action → that status.
    pub fn implied_status(&self) -> Option<LifecycleStatus> {
        match self {
            EventAction::Created => Some(LifecycleStatus::Pending),
            EventAction::Progress => Some(LifecycleStatus::InProgress),
            EventAction::Status(status) => Some(status.clone()),
            EventAction::Unknown(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn a_thin_openai_event_must_be_polled() {
        let body = br#"{"id":"evt_1","object":"event","type":"batch.completed","created_at":1767225600,"data":{"id":"batch_1"}}"#;
        let event = Event::from_json(body).unwrap();
        assert_eq!(event.batch_id(), Some("batch_1"));
        assert_eq!(
            event.claim(),
            Claim::Thin {
                implied: Some(LifecycleStatus::Completed)
            }
        );
        assert!(event.batch().is_none());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_an_event_that_names_no_batch() {
        let err = Event::from_json(br#"{"type":"batch.failed","data":{}}"#).unwrap_err();
        assert_eq!(err, EventError::MissingBatchId);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_an_event_whose_ids_disagree() {
        let body = br#"{"job_id":"batch_a","data":{"id":"batch_b"}}"#;
        let err = Event::from_json(body).unwrap_err();
        assert_eq!(err.code(), "conflicting_batch_ids");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_full_event_claims_its_lifecycle_status() {
        let batch = Batch {
            id: Some("batch_9".into()),
            status: Some("cancelling".into()),
            ..Batch::default()
        };
        let event = Event::for_batch("evt_9", EventType::new("batch.cancelling"), 5, &batch);
        let parsed = Event::from_json(event.to_json().as_bytes()).unwrap();
        assert_eq!(parsed.claim(), Claim::Status(LifecycleStatus::Cancelling));
        assert_eq!(parsed, event);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn splits_an_event_type_into_kind_and_action() {
        let t = EventType::new("video.canceled");
        assert_eq!(t.kind(), "video");
        assert_eq!(t.action(), EventAction::Status(LifecycleStatus::Cancelled));
        assert_eq!(
            EventType::new("batch.exploded").action().implied_status(),
            None
        );
    }
}
