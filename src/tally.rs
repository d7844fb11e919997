//! What a piece of work did, counted the same way everywhere: one record, one object, one SQS
//! message, one invocation, one `scan` run. Counts add up; errors are kept up to a bound so
//! that a hostile input cannot grow a summary without limit.
//!
//! Every failure is a [`WorkError`] with a kind that says how a retry would fare, so that the
//! answer to a trigger (an SQS batch failure, an S3 Batch Operations result code, a failed
//! invocation) is read from the errors themselves, not rebuilt from side counters.

use std::fmt;

use serde::{Serialize, Serializer};

/// How a failure would fare on another try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Another try may succeed: throttling, a timeout, a 5xx, a cut connection, a finding that
    /// was not delivered.
    Transient,
    /// No retry can help: the input is missing, denied, corrupt, or names nothing we can read.
    Permanent,
    /// The input is not CloudTrail at all (another service's logs, a wrong file): no retry can
    /// help either.
    NotCloudTrail,
}

/// One failure: its kind and a message naming the input (object, file, record) it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkError {
    pub kind: ErrorKind,
    pub message: String,
}

impl WorkError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        WorkError {
            kind,
            message: message.into(),
        }
    }

    /// Whether another try may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }
}

impl fmt::Display for WorkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// As its message: summaries and logs show what went wrong, in words.
impl Serialize for WorkError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.message)
    }
}

/// Error messages kept in one tally; more are counted in `error_count`.
pub const MAX_KEPT_ERRORS: usize = 50;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Objects or files opened (or that failed to open).
    pub objects: u64,
    /// Objects and payloads skipped on purpose (digest files, folder markers, test events).
    pub skipped: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// Records read.
    pub records: u64,
    pub findings: u64,
    pub published: u64,
    /// Findings published before (`DEDUP_TABLE`), not sent again.
    pub duplicates: u64,
    /// Shares with an account of the organization, left out (`SUPPRESS_ORGANIZATION_SHARES`).
    pub suppressed: u64,
    /// Findings found but not delivered.
    pub undelivered: u64,
    /// Shares removed before their findings were published (`REMEDIATE`).
    pub remediated: u64,
    /// Remediations that failed; their findings were published all the same, saying so.
    pub remediation_failures: u64,
    /// Inputs (objects, files, records) that could not be read whole.
    pub input_errors: u64,
    /// Errors that another try may not meet: throttling, timeouts, 5xx, a cut connection,
    /// findings not delivered (counted by [`Tally::fail`] from each error's kind).
    pub transient_errors: u64,
    /// Records that are not CloudTrail at all (another service's logs, a wrong file).
    pub not_cloudtrail: u64,
    /// What went wrong, each naming its input; the first [`MAX_KEPT_ERRORS`].
    pub errors: Vec<WorkError>,
    /// All errors, kept or not.
    pub error_count: u64,
}

impl Tally {
    /// Whether everything was read and every finding delivered.
    pub fn is_clean(&self) -> bool {
        self.error_count == 0
    }

    /// Whether another try may succeed where this one failed: some failure was transient.
    pub fn retryable(&self) -> bool {
        self.transient_errors > 0
    }

    /// An input (an object, a file, a record, a payload) that could not be read whole.
    pub fn input_failed(&mut self, kind: ErrorKind, message: impl Into<String>) {
        self.input_errors += 1;
        self.fail(WorkError::new(kind, message));
    }

    /// `n` findings found but not delivered: a retry delivers them.
    pub fn not_delivered(&mut self, n: u64, message: impl Into<String>) {
        self.undelivered += n;
        self.fail(WorkError::new(ErrorKind::Transient, message));
    }

    /// Records a failure, counting it by kind.
    pub fn fail(&mut self, error: WorkError) {
        self.error_count += 1;
        self.transient_errors += u64::from(error.is_transient());
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(error);
        }
    }

    /// The kept errors' messages, joined for one line.
    pub fn error_line(&self) -> String {
        let messages: Vec<&str> = self.errors.iter().map(|e| e.message.as_str()).collect();
        messages.join("; ")
    }

    /// Adds `other`'s counts and errors to this one.
    pub fn add(&mut self, other: Tally) {
        self.objects += other.objects;
        self.skipped += other.skipped;
        self.bytes += other.bytes;
        self.records += other.records;
        self.findings += other.findings;
        self.published += other.published;
        self.duplicates += other.duplicates;
        self.suppressed += other.suppressed;
        self.undelivered += other.undelivered;
        self.remediated += other.remediated;
        self.remediation_failures += other.remediation_failures;
        self.input_errors += other.input_errors;
        self.not_cloudtrail += other.not_cloudtrail;
        self.transient_errors += other.transient_errors;
        let hidden = other.error_count - other.errors.len() as u64;
        // `fail` counts the kept errors' kinds again: take them out of the sum first.
        let kept_transient = other.errors.iter().filter(|e| e.is_transient()).count() as u64;
        self.transient_errors -= kept_transient;
        for error in other.errors {
            self.fail(error);
        }
        self.error_count += hidden;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_and_errors_stay_bounded() {
        let mut total = Tally::default();
        for i in 0..(MAX_KEPT_ERRORS as u64 + 5) {
            let mut one = Tally {
                records: 2,
                findings: 1,
                ..Tally::default()
            };
            one.input_failed(ErrorKind::Permanent, format!("object {i}: broken"));
            total.add(one);
        }
        let n = MAX_KEPT_ERRORS as u64 + 5;
        assert_eq!(total.records, 2 * n);
        assert_eq!(total.findings, n);
        assert_eq!(total.error_count, n);
        assert_eq!(total.errors.len(), MAX_KEPT_ERRORS);
        assert_eq!(total.errors[0].message, "object 0: broken");
        assert_eq!(total.input_errors, n);
        assert!(!total.is_clean());
        assert!(Tally::default().is_clean());
    }
}
