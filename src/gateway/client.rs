//! Build, send, parse: the endpoints as async calls over any [`Transport`].

use super::endpoints::{self, CreateBatch};
use super::error::GatewayError;
use super::files::FileObject;
use super::http::Transport;
use crate::batch::{Batch, ListPage, ListQuery};

/// The gateway's batch API over a transport. Holds no credentials: the transport adds them.
#[derive(Debug, Clone)]
pub struct Gateway<T> {
    transport: T,
}

impl<T: Transport> Gateway<T> {
    /// Wraps a transport.
    pub fn new(transport: T) -> Self {
        Gateway { transport }
    }

    /// The wrapped transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Uploads a JSONL batch input; `boundary` should be random (e.g. 32 hex characters).
    pub async fn upload_file(
        &self,
        filename: &str,
        content: &[u8],
        boundary: &str,
    ) -> Result<FileObject, GatewayError> {
        let response = self
            .transport
            .send(endpoints::upload_file(filename, content, boundary)?)
            .await?;
        endpoints::parse_file(&response)
    }

    /// Creates a batch.
    pub async fn create_batch(
        &self,
        create: &CreateBatch,
        idempotency_key: Option<&str>,
    ) -> Result<Batch, GatewayError> {
        let response = self
            .transport
            .send(endpoints::create_batch(create, idempotency_key)?)
            .await?;
        endpoints::parse_batch(&response)
    }

    /// Fetches a batch.
    pub async fn get_batch(&self, batch_id: &str) -> Result<Batch, GatewayError> {
        let response = self.transport.send(endpoints::get_batch(batch_id)?).await?;
        endpoints::parse_batch(&response)
    }

    /// Lists batches.
    pub async fn list_batches(&self, query: &ListQuery) -> Result<ListPage<Batch>, GatewayError> {
        let response = self.transport.send(endpoints::list_batches(query)).await?;
        endpoints::parse_list(&response)
    }

    /// Requests cancellation; the batch moves to `cancelling`, then to a terminal state.
    pub async fn cancel_batch(&self, batch_id: &str) -> Result<Batch, GatewayError> {
        let response = self
            .transport
            .send(endpoints::cancel_batch(batch_id)?)
            .await?;
        endpoints::parse_batch(&response)
    }

    /// Fetches a file's metadata.
    pub async fn get_file(&self, file_id: &str) -> Result<FileObject, GatewayError> {
        let response = self.transport.send(endpoints::get_file(file_id)?).await?;
        endpoints::parse_file(&response)
    }

    /// Downloads a file's content (an output or error file).
    pub async fn file_content(&self, file_id: &str) -> Result<Vec<u8>, GatewayError> {
        let response = self
            .transport
            .send(endpoints::file_content(file_id)?)
            .await?;
        endpoints::parse_content(response)
    }
}
