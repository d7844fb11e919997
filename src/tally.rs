//! What a piece of work did, counted the same way everywhere: one record, one object, one SQS
//! message, one invocation, one `scan` run. Counts add up; error messages are kept up to a
//! bound so that a hostile input cannot grow a summary without limit.

use serde::Serialize;

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
    /// Inputs (objects, files, records) that could not be read whole.
    pub input_errors: u64,
    /// Errors that another try may not meet: throttling, timeouts, 5xx, a cut connection.
    pub transient_errors: u64,
    /// Records that are not CloudTrail at all (another service's logs, a wrong file).
    pub not_cloudtrail: u64,
    /// What went wrong, each naming its input; the first [`MAX_KEPT_ERRORS`].
    pub errors: Vec<String>,
    /// All errors, kept or not.
    pub error_count: u64,
}

impl Tally {
    /// Whether everything was read and every finding delivered.
    pub fn is_clean(&self) -> bool {
        self.error_count == 0
    }

    /// Records an error message.
    pub fn error(&mut self, message: String) {
        self.error_count += 1;
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(message);
        }
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
        self.input_errors += other.input_errors;
        self.not_cloudtrail += other.not_cloudtrail;
        self.transient_errors += other.transient_errors;
        let hidden = other.error_count - other.errors.len() as u64;
        for message in other.errors {
            self.error(message);
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
            one.error(format!("object {i}: broken"));
            total.add(one);
        }
        let n = MAX_KEPT_ERRORS as u64 + 5;
        assert_eq!(total.records, 2 * n);
        assert_eq!(total.findings, n);
        assert_eq!(total.error_count, n);
        assert_eq!(total.errors.len(), MAX_KEPT_ERRORS);
        assert_eq!(total.errors[0], "object 0: broken");
        assert!(!total.is_clean());
        assert!(Tally::default().is_clean());
    }
}
