//! Findings as JSON Lines on stdout: the output of `scan`, and of the function when no topic is
//! configured (its log).

use std::io::{self, Write};

use super::{PublishError, Published, Publishing, Sink};
use crate::finding::Finding;

/// Writes each finding as one line of JSON to stdout.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout;

impl Sink for Stdout {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        let attempted = findings.len();
        let mut out = io::stdout().lock();
        let written = findings
            .iter()
            .try_for_each(|f| writeln!(out, "{}", f.to_json()))
            .and_then(|()| out.flush());
        let result = written
            .map(|()| Published::all(attempted))
            .map_err(|e| PublishError::all(attempted, format!("stdout: {e}")));
        Box::pin(async move { result })
    }
}
