//! Detects EBS snapshots shared with another AWS account or made public (MITRE ATT&CK T1537).
//!
//! The data path, one module a stage:
//!
//! ```text
//! payload ──► trigger ──► source ──► reader ──► rule ──► finding ──► sink
//! (JSON)      which        S3 object  bytes →    record →  schema,    SNS / stdout
//!             envelope?    or record  records    targets   ids
//! ```
//!
//! [`rule`] is a pure function; [`reader`] and [`splitter`] turn bytes into records without I/O
//! of their own; [`source`] and [`sink`] hold the AWS clients. [`pipeline`] joins a source to a
//! sink, [`lambda`] and [`cli`] are the two ways in.

pub mod aws;
pub mod cli;
pub mod cloudtrail;
pub mod config;
pub mod finding;
pub mod gzip;
pub mod lambda;
pub mod metrics;
pub mod pipeline;
pub mod reader;
pub mod rule;
pub mod sink;
pub mod source;
pub mod splitter;
pub mod trigger;

/// An error and its chain of causes in one line, each cause once (the SDK and `io::Error`
/// often put the reason a level down, behind a bare "dispatch failure" or "streaming error").
pub(crate) fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line
}
