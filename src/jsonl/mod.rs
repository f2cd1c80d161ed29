//! JSONL batch files: validation of an input before upload, and reading the output and error
//! files after completion.
//!
//! Everything works on bytes fed in chunks, so neither the worker nor the browser has to hold a
//! 200 MB file in memory, and a chunk may end in the middle of a row or of a UTF-8 character.
//!
//! ```
//! use batchhook::jsonl::Validator;
//! let mut v = Validator::new("/v1/chat/completions");
//! v.feed(br#"{"custom_id":"r1","method":"POST","url":"/v1/chat/completions","#);
//! v.feed(b"\"body\":{\"model\":\"gpt-4o-mini\"}}\n{\"custom_id\":\"r1\"}\n");
//! let report = v.finish();
//! assert_eq!(report.invalid_rows, 1);
//! assert_eq!(report.errors[0].row, 2);
//! ```

mod lines;
mod results;
mod row;
mod validate;

pub use results::{Outcome, Price, ResultSummary, Results, RowResult, Usage};
pub use validate::{validate, Limits, Report, RowError, Validator};
