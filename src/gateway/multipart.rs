//! `multipart/form-data` for the file upload, built by hand so the core stays dependency-free
//! and the caller picks the boundary (a seed-free core cannot invent one).

use super::error::GatewayError;

/// The parts of an upload body around the file's bytes: `head`, then the file, then `tail`.
/// An adapter can send `[head, file, tail]` as one stream (a browser `Blob`) without copying
/// a large file; [`UploadParts::body`] joins them for callers that hold the file in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadParts {
    /// The `content-type` header value, boundary included.
    pub content_type: String,
    /// Everything before the file's bytes.
    pub head: Vec<u8>,
    /// Everything after the file's bytes.
    pub tail: Vec<u8>,
    boundary: String,
}

impl UploadParts {
    /// Parts for uploading `filename` with `purpose=batch` under `boundary`.
    ///
    /// The boundary must be 1–70 characters of `A–Z a–z 0–9 ' ( ) + _ , - . / : = ?` (RFC 2046).
    /// Quotes, CR and LF in the file name are percent-encoded, as browsers do.
    pub fn new(filename: &str, boundary: &str) -> Result<UploadParts, GatewayError> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b"'()+_,-./:=?".contains(&b);
        if boundary.is_empty() || boundary.len() > 70 || !boundary.bytes().all(allowed) {
            return Err(GatewayError::InvalidArgument(
                "the multipart boundary must be 1-70 letters, digits or '()+_,-./:=? characters"
                    .to_owned(),
            ));
        }
        if filename.is_empty() {
            return Err(GatewayError::InvalidArgument(
                "the upload needs a file name, e.g. requests.jsonl".to_owned(),
            ));
        }
        let filename = filename
            .replace('"', "%22")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        let head = format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
             --{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             content-type: application/jsonl\r\n\r\n"
        );
        Ok(UploadParts {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            head: head.into_bytes(),
            tail: format!("\r\n--{boundary}--\r\n").into_bytes(),
            boundary: boundary.to_owned(),
        })
    }

    /// Fails when `content` contains the delimiter, which would cut the file short; pick
    /// another (random) boundary then.
    pub fn check_content(&self, content: &[u8]) -> Result<(), GatewayError> {
        let delimiter = format!("--{}", self.boundary);
        let d = delimiter.as_bytes();
        if content.windows(d.len()).any(|w| w == d) {
            return Err(GatewayError::InvalidArgument(
                "the file contains the multipart boundary; choose another random boundary"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// The whole body around `content`.
    pub fn body(&self, content: &[u8]) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.head.len() + content.len() + self.tail.len());
        body.extend_from_slice(&self.head);
        body.extend_from_slice(content);
        body.extend_from_slice(&self.tail);
        body
    }
}
