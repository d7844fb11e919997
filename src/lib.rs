//! Detects EBS snapshots shared with another AWS account or made public (MITRE ATT&CK T1537).
//!
//! The data path, one module a stage:
//!
//! ```text
//!            ┌─ EventBridge event ─── record ───────────────────────┐
//! payload ─► trigger                                                 ▼
//! (JSON)     └─ S3/SQS/SNS notice ─► source ─► reader ─► record ─► rule ─► finding ─► sink
//!                                    (bytes)   (gzip,              (detect)  (schema,   (SNS,
//!                                              split)                         ids)       stdout)
//! scan PATH... ─ file, stdin, s3:// ─┘
//! ```
//!
//! - [`trigger`] recognises the envelope of a Lambda payload and turns it into work: records
//!   to evaluate, objects to read. A new trigger is a new arm there.
//! - [`source`] gives an object's bytes behind the [`source::ObjectStore`] trait (S3, memory).
//! - [`reader`] turns bytes (gzip or not) into records, one at a time, in flat memory.
//! - [`rule`] is the detection: a registry of rules ([`rule::RULES`]), each a module that
//!   describes itself, [`rule::detect`] from one record to its findings, and the byte-level
//!   prefilter that decides which records are worth parsing. A new rule is a new module there.
//! - [`finding`] is the schema and the deterministic id; [`sink`] publishes (SNS, stdout)
//!   behind the object-safe [`sink::Sink`] trait, composed by [`sink::build`] from a list of
//!   outputs behind the layers that cover them all: [`sink::Dedup`] (one alert per finding,
//!   whatever the path, with an idempotency store) and [`sink::Org`] (organization membership
//!   of the target, from [`org`]). A new output is a new module there.
//! - [`pipeline`] joins a store to a sink and counts what happened in a [`tally::Tally`];
//!   [`lambda`] and [`cli`] are the two ways in, [`config`] and [`aws`] set them up, and
//!   [`metrics`] reports each invocation. [`walk`] walks a tree of requests (S3 prefixes and
//!   pages for `scan s3://`, accounts and regions for the audit) many at once, in order.

pub mod audit;
pub mod aws;
pub mod cli;
pub mod cloudtrail;
pub mod config;
pub mod finding;
pub mod lambda;
pub mod metrics;
pub mod ocsf;
pub mod org;
pub mod permission;
pub mod pipeline;
pub mod reader;
pub mod remediate;
pub mod rule;
pub mod sink;
pub mod source;
pub mod tally;
#[cfg(test)]
mod testing;
pub mod text;
pub mod trigger;
pub mod walk;

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

/// Milliseconds since the Unix epoch, 0 on a clock set before it.
pub(crate) fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
