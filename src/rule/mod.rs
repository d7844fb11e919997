//! The detection rules: pure functions from one CloudTrail record to its detections, each rule
//! in a module of its own that describes itself ([`Rule`]): the calls it reads, who it is, how
//! it evaluates a record, and what its findings say to people. [`RULES`] lists them; everything
//! that must know which calls matter (the byte-level [`Prefilter`], [`detect`], the templates'
//! event patterns through their test) reads that list, so a rule cannot be half added.
//!
//! Adding a rule: a new module here that declares a `pub static RULE: Rule`, one line in
//! [`RULES`], and the calls it reads in the templates' event patterns (`tests/` checks them
//! against this list).

use std::borrow::Cow;

use serde_json::Value;

use crate::cloudtrail::Record;
use crate::finding::{Detection, Finding, Identity};

pub mod attempt;
pub mod exposure;
pub mod grant;
pub mod image;
mod prefilter;
pub mod protection;
pub mod rds;
pub mod share;
pub mod texts;
mod trusted;
pub mod used;
pub use prefilter::Prefilter;
pub use share::{evaluate, Share, EVENT_NAME, EVENT_SOURCE};
pub use trusted::TrustedAccounts;

/// Every rule, in the order their findings of one record are listed.
pub static RULES: &[&Rule] = &[
    &share::RULE,
    &used::RULE,
    &image::RULE,
    &rds::RULE,
    &protection::RULE,
    &attempt::RULE,
];

/// A CloudTrail call a rule reads: its `eventSource` and `eventName`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub source: &'static str,
    pub name: &'static str,
}

impl Call {
    /// The EventBridge `source` of events of this call (`ec2.amazonaws.com` → `aws.ec2`).
    pub fn eventbridge_source(&self) -> String {
        let service = self.source.trim_end_matches(".amazonaws.com");
        format!("aws.{service}")
    }
}

/// What a rule knows besides the record.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The `account` of the EventBridge event that carried the record (the owner of last
    /// resort).
    pub envelope_account: Option<&'a str>,
    pub trusted: &'a TrustedAccounts,
}

/// What a rule's findings say to people, beyond the facts every finding has.
#[derive(Debug, Clone, Copy)]
pub struct Texts {
    /// The SNS subject: under 100 characters of printable ASCII.
    pub subject: fn(&Finding) -> String,
    /// The line that says whom the resource was opened to or used by: (label, value).
    pub target: fn(&Finding) -> (&'static str, String),
    /// What a responder does next, most urgent first, with the commands to run.
    pub next_steps: fn(&Finding) -> Vec<String>,
}

/// A detection rule: everything the detector needs to know about it, in one place.
#[derive(Debug)]
pub struct Rule {
    pub identity: Identity,
    /// The calls it reads; a record of any other call is never shown to it.
    pub reads: &'static [Call],
    /// The detections in one record of a call it reads; an error names what could not be read
    /// (a record of the right call whose parameters are not JSON), and is counted by the caller.
    pub evaluate: fn(&Record<'_>, &Context<'_>) -> Result<Vec<Detection>, String>,
    pub texts: Texts,
}

impl Rule {
    /// Whether the record is of a call this rule reads.
    pub fn reads(&self, record: &Record<'_>) -> bool {
        self.reads.iter().any(|call| {
            record.event_source == Some(call.source) && record.event_name == Some(call.name)
        })
    }
}

/// The rule whose id a finding carries (`rule.id`), if this build has it: an event rule, or
/// the audit's [`exposure`] rule.
pub fn of(finding: &Finding) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .chain([&exposure::RULE])
        .find(|rule| rule.identity.id == finding.rule.id)
}

/// Every call any rule reads.
pub fn calls() -> impl Iterator<Item = &'static Call> {
    RULES.iter().flat_map(|rule| rule.reads)
}

/// The findings of one record, and what could not be read in it.
#[derive(Debug, Default)]
pub struct Detected {
    pub findings: Vec<Finding>,
    pub problems: Vec<String>,
}

/// Every rule's findings for one record. `envelope_account` is the `account` of the EventBridge
/// event that carried it, if any; `origin` names the log file it was read from
/// (`log.file.path`). Every path (EventBridge, log files, `scan`, the tests and benches) goes
/// through here.
pub fn evaluate_record(
    record: &Record<'_>,
    envelope_account: Option<&str>,
    trusted: &TrustedAccounts,
    origin: Option<&str>,
) -> Detected {
    let context = Context {
        envelope_account,
        trusted,
    };
    let mut detected = Detected::default();
    for rule in RULES.iter().filter(|rule| rule.reads(record)) {
        match (rule.evaluate)(record, &context) {
            Ok(detections) => detected.findings.extend(
                detections
                    .into_iter()
                    .map(|d| Finding::build(&rule.identity, record, d, origin)),
            ),
            Err(problem) => detected.problems.push(problem),
        }
    }
    detected
}

/// [`evaluate_record`]'s findings alone, for callers that have no count of problems to keep
/// (tests, benches); the reader and the pipeline count them.
pub fn detect(
    record: &Record<'_>,
    envelope_account: Option<&str>,
    trusted: &TrustedAccounts,
    origin: Option<&str>,
) -> Vec<Finding> {
    evaluate_record(record, envelope_account, trusted, origin).findings
}

/// A field that holds a JSON object, also when an exporter stored it as a string of JSON (some
/// do with `requestParameters` and `serviceEventDetails`). `Ok(None)` when absent or null; an
/// error when it is a string that is not JSON.
pub(crate) fn json_field<'a>(raw: &'a Value, name: &str) -> Result<Option<Cow<'a, Value>>, String> {
    match raw.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => serde_json::from_str::<Value>(text)
            .map(|v| Some(Cow::Owned(v)))
            .map_err(|e| {
                format!(
                    "{name} is a string that is not JSON ({e}): {}",
                    crate::text::preview(text)
                )
            }),
        Some(other) => Ok(Some(Cow::Borrowed(other))),
    }
}

/// A non-empty, trimmed string field of `v`.
pub(crate) fn text_field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_distinct_uuid_and_reads_some_call() {
        let mut ids = std::collections::HashSet::new();
        for rule in RULES {
            let id = rule.identity.id;
            assert!(uuid::Uuid::try_parse(id).is_ok(), "{id} is not a UUID");
            assert!(ids.insert(id), "{id} twice");
            assert!(!rule.reads.is_empty(), "{id} reads nothing");
            assert!(
                ["low", "medium", "high", "critical"].contains(&rule.identity.severity),
                "{id}"
            );
        }
    }

    #[test]
    fn eventbridge_sources_follow_the_service() {
        let call = Call {
            source: "rds.amazonaws.com",
            name: "X",
        };
        assert_eq!(call.eventbridge_source(), "aws.rds");
    }

    #[test]
    fn json_fields_may_be_strings_of_json() {
        let raw = serde_json::json!({"a": {"x": 1}, "b": "{\"x\": 2}", "c": "{nope", "d": null});
        assert_eq!(json_field(&raw, "a").unwrap().unwrap()["x"], 1);
        assert_eq!(json_field(&raw, "b").unwrap().unwrap()["x"], 2);
        assert!(json_field(&raw, "c")
            .unwrap_err()
            .starts_with("c is a string that is not JSON"));
        assert!(json_field(&raw, "d").unwrap().is_none());
        assert!(json_field(&raw, "e").unwrap().is_none());
    }
}
