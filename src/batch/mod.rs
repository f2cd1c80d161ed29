//! The batch model: the gateway's batch object, its lifecycle, the list endpoint's query and
//! envelope, and the normalised view of the three job shapes we accept.
//!
//! - [`Batch`] models every field of the list-batches reference (plus OpenAI's `usage`). Every
//!   field is optional and unknown or oddly typed fields are kept and written back unchanged.
//! - [`LifecycleStatus`] is the one status vocabulary; [`advance`] is the rule that keeps a
//!   stored status from moving backwards or out of a terminal state.
//! - [`ListQuery`], [`ListPage`] and [`page`] implement the list endpoint's rules.
//! - [`JobView`] normalises an AI Stats batch, a doc-tagging job or a fact-check batch into
//!   status, counts, progress fraction, usage and cost.

mod error;
mod lifecycle;
mod list;
mod normalize;
mod object;
pub(crate) mod tolerant;

pub use error::ParseError;
pub use lifecycle::{advance, apply, Ignored, LifecycleStatus, Transition};
pub use list::{page, ListItem, ListPage, ListQuery, ListQueryError};
pub use normalize::{Cost, DocTaggingJob, FactCheckBatch, JobCounts, JobSource, JobView, RowError};
pub use object::{
    Batch, BatchError, BatchErrors, Billing, RequestCounts, Usage, WebhookAttempt, WebhookDelivery,
    WebhookInfo,
};
