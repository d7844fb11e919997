//! What a read reports: its limits, its counters, and the errors it met, each naming the record
//! (1-based index) and the byte where it went wrong.

use std::fmt;
use std::io;
use std::sync::atomic::AtomicU64;

use super::splitter::SyntaxError;

/// Bounds that keep a hostile or broken input from exhausting memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most decompressed bytes read from one object (a decompression bomb stops here).
    pub max_object_bytes: u64,
    /// Largest record kept in memory; a larger one is skipped and reported.
    pub max_record_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_object_bytes: 2 << 30,
            max_record_bytes: 8 << 20,
        }
    }
}

/// Counters a scan updates after each read, for a progress display on another thread.
#[derive(Debug, Default)]
pub struct Progress {
    /// Decompressed bytes read.
    pub bytes: AtomicU64,
    pub records: AtomicU64,
    pub findings: AtomicU64,
}

/// Record-level errors kept in a report; more are counted, not kept. One bound with a
/// [`crate::tally::Tally`]'s, defined there: both keep error messages only so that a hostile
/// input cannot grow a summary without limit (a report's kept errors become one line of the
/// tally of its object).
pub use crate::tally::MAX_KEPT_ERRORS;

/// What one scan did.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Whether the input was gzip.
    pub compressed: bool,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// Record slices read (elements of `Records`, array elements, top-level values).
    pub records: u64,
    /// Records the prefilter passed (they mention an event name of a rule) and were parsed.
    pub candidates: u64,
    pub findings: u64,
    /// Records that are JSON objects but not CloudTrail (also counted as errors).
    pub not_cloudtrail: u64,
    /// The first [`MAX_KEPT_ERRORS`] record-level errors; reading went on after each.
    pub errors: Vec<RecordError>,
    pub error_count: u64,
    /// The error that stopped reading, if any; findings before it were emitted.
    pub fatal: Option<ReadError>,
}

impl ScanReport {
    /// Whether every byte was read and every record understood.
    pub fn is_clean(&self) -> bool {
        self.fatal.is_none() && self.error_count == 0
    }

    /// A one-line description of the errors, if any.
    pub fn error_summary(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        if let Some(fatal) = &self.fatal {
            parts.push(fatal.to_string());
        }
        parts.extend(self.errors.iter().map(ToString::to_string));
        let hidden = self.error_count.saturating_sub(self.errors.len() as u64);
        if hidden > 0 {
            parts.push(format!("and {hidden} more record errors"));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    pub(super) fn record_error(&mut self, error: RecordError) {
        self.error_count += 1;
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(error);
        }
    }
}

/// An error that stopped reading.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("read failed after {offset} decompressed bytes: {}", crate::one_line(.source))]
    Io { offset: u64, source: io::Error },
    #[error("record {index}: {source}")]
    Syntax { index: u64, source: SyntaxError },
    #[error(
        "decompressed size exceeds the limit of {limit} bytes (MAX_OBJECT_BYTES); \
         stopped after {read} bytes"
    )]
    TooLarge { limit: u64, read: u64 },
    /// A bug: the reading thread panicked. Reported as such, never as a read error of the
    /// input.
    #[error("the reading thread panicked: {0}")]
    Panic(String),
}

/// A record that could not be evaluated; reading went on after it.
#[derive(Debug)]
pub struct RecordError {
    /// 1-based position of the record in the input.
    pub index: u64,
    /// Stream offset (decompressed) of the record's first byte, or for a syntax error of the
    /// byte where the JSON went wrong.
    pub offset: u64,
    pub kind: RecordErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordErrorKind {
    #[error("invalid UTF-8 at byte {0} of the record")]
    Utf8(usize),
    #[error("invalid JSON: {}", .0.message)]
    Syntax(SyntaxError),
    #[error("invalid JSON: {0}")]
    Json(serde_json::Error),
    #[error("not a CloudTrail record (a JSON {0}, not an object)")]
    NotAnObject(&'static str),
    /// A JSON object with none of the keys of a CloudTrail record or of an envelope we know.
    #[error("not CloudTrail: an object with none of the keys of a CloudTrail record (keys: {0})")]
    NotCloudTrail(String),
    /// Something inside the record could not be read as records (a value that is not an
    /// object, a CloudWatch Logs payload that does not decode).
    #[error("{0}")]
    Container(String),
    #[error("record of {len} bytes exceeds MAX_RECORD_BYTES ({limit}); it was not evaluated")]
    TooLarge { len: u64, limit: usize },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record {} (byte {}): {}",
            self.index, self.offset, self.kind
        )
    }
}

impl std::error::Error for RecordError {}
