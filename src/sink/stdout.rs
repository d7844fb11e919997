//! Findings on stdout: JSON Lines, the output of `scan` for programs and of the function when
//! no topic is configured (its log); OCSF Detection Findings, a line each, for Security Lake
//! and SIEMs; or text for people, `scan` on a terminal.

use std::io::{self, Write};

use super::{terminal, PublishError, Published, Publishing, Sink};
use crate::finding::Finding;

/// How [`Stdout`] writes a finding.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line of JSON each (JSON Lines).
    #[default]
    Json,
    /// One OCSF Detection Finding a line ([`crate::ocsf`]).
    Ocsf,
    /// A short block for people ([`terminal::render`]), in colour or not.
    Text { color: bool },
}

/// Writes each finding to stdout, as JSON Lines unless told otherwise.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout(pub Lines);

impl Sink for Stdout {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        let attempted = findings.len();
        let mut out = io::stdout().lock();
        let written = findings
            .iter()
            .try_for_each(|f| match self.0 {
                Lines::Json => writeln!(out, "{}", f.to_json()),
                Lines::Ocsf => writeln!(out, "{}", crate::ocsf::to_json(f, crate::epoch_ms())),
                Lines::Text { color } => out.write_all(terminal::render(f, color).as_bytes()),
            })
            .and_then(|()| out.flush());
        let result = written
            .map(|()| Published::all(attempted))
            .map_err(|e| PublishError::all(attempted, format!("stdout: {e}")));
        Box::pin(async move { result })
    }
}
