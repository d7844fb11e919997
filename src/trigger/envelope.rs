//! The envelopes CloudTrail records arrive in, in one room: the list of them ([`ENVELOPES`]),
//! and the walk that finds the records inside any of them ([`for_each_record`]). The trigger's
//! classification, the reader's test of what is CloudTrail and the prefilter's check for a
//! compressed payload all read the one list, so that a new envelope is added once.

use serde_json::Value;

use super::{logs, Trigger};
use crate::cloudtrail::{text, type_name, Record};

/// An envelope we know, by the key at its top that gives it away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    /// The trigger it is, when it is the outer envelope of an invocation.
    pub trigger: Trigger,
    pub key: &'static str,
    /// Whether its records are compressed inside it, where no byte search sees them.
    pub compressed: bool,
}

impl Envelope {
    const fn new(trigger: Trigger, key: &'static str) -> Self {
        Envelope {
            trigger,
            key,
            compressed: false,
        }
    }
}

/// An EventBridge event (its `detail` a record when the detail-type is "... via CloudTrail").
pub const EVENTBRIDGE: Envelope = Envelope::new(Trigger::EventbridgeCloudtrail, "detail-type");
/// A CloudWatch Logs subscription payload: base64 gzip of a message of log events.
pub const AWSLOGS: Envelope = Envelope {
    compressed: true,
    ..Envelope::new(Trigger::CloudwatchLogs, "awslogs")
};
/// The decoded message of a CloudWatch Logs subscription.
pub const LOG_MESSAGE: Envelope = Envelope::new(Trigger::CloudwatchLogs, "logEvents");
/// SNS records, as an SNS-triggered function receives them (`Records[].EventSource`).
pub const SNS_RECORD: Envelope = Envelope::new(Trigger::Sns, "EventSource");
/// CloudTrail's own SNS delivery notice.
pub const CLOUDTRAIL_NOTICE: Envelope = Envelope::new(Trigger::CloudtrailSns, "s3ObjectKey");
/// The `s3:TestEvent` S3 sends when a notification is configured.
pub const S3_TEST: Envelope = Envelope::new(Trigger::S3Test, "Event");
/// An S3 Batch Operations invocation.
pub const S3_BATCH: Envelope = Envelope::new(Trigger::S3Batch, "invocationSchemaVersion");
/// A list of records: a CloudTrail log file, or SQS, SNS and S3 notification records.
pub const RECORDS: Envelope = Envelope::new(Trigger::CloudtrailRecords, "Records");

/// Every envelope we know.
pub const ENVELOPES: [Envelope; 8] = [
    EVENTBRIDGE,
    AWSLOGS,
    LOG_MESSAGE,
    SNS_RECORD,
    CLOUDTRAIL_NOTICE,
    S3_TEST,
    S3_BATCH,
    RECORDS,
];

/// The keys of the envelopes whose records are compressed inside them.
pub fn compressed_keys() -> impl Iterator<Item = &'static str> {
    ENVELOPES.iter().filter(|e| e.compressed).map(|e| e.key)
}

/// Whether an EventBridge `detail-type` is one whose `detail` is a CloudTrail record: "AWS API
/// Call via CloudTrail", "AWS Console Sign In via CloudTrail", "AWS Service Event via
/// CloudTrail" and the like.
pub fn is_cloudtrail_detail_type(detail_type: &str) -> bool {
    detail_type.ends_with("via CloudTrail")
}

/// An EventBridge event that carries a CloudTrail record ("AWS API Call via CloudTrail" and its
/// siblings): the record and the envelope's account.
pub fn eventbridge_record(event: &Value) -> Option<(&Value, Option<&str>)> {
    let detail_type = event.get(EVENTBRIDGE.key)?.as_str()?;
    if !is_cloudtrail_detail_type(detail_type) {
        return None;
    }
    let detail = event.get("detail").filter(|d| d.is_object())?;
    Some((detail, text(event, "account")))
}

/// Keys of which a CloudTrail record carries at least one.
const RECORD_KEYS: [&str; 8] = [
    "eventVersion",
    "eventSource",
    "eventName",
    "eventTime",
    "eventID",
    "eventType",
    "userIdentity",
    "recipientAccountId",
];

/// Whether `value` is a CloudTrail record or an envelope we know: an object with at least one
/// of the keys a record or a known envelope carries. Anything else (another service's log, a
/// document of labels) is not CloudTrail, and reading it must not pass for "nothing found".
/// A record's keys count in any case: some tools lowercase them (Panther's test records
/// write `eventname`); such a record is CloudTrail, though no rule reads its lowercase keys.
pub fn looks_like_cloudtrail(value: &Value) -> bool {
    value.as_object().is_some_and(|map| {
        ENVELOPES.iter().any(|e| map.contains_key(e.key))
            || map
                .keys()
                .any(|k| RECORD_KEYS.iter().any(|r| r.eq_ignore_ascii_case(k)))
    })
}

/// Calls `f` with each CloudTrail record in `value` and the account of its envelope: a bare
/// record, an EventBridge event, a log file `{"Records":[...]}`, a CloudWatch Logs
/// subscription payload (raw or decoded), or an array of any of these. Returns what could not
/// be read as records (a value that is not an object, a log payload that does not decode), one
/// message each; the other records are still handed over.
pub fn for_each_record(value: &Value, f: &mut dyn FnMut(Record<'_>, Option<&str>)) -> Vec<String> {
    let mut problems = Vec::new();
    walk(value, f, &mut problems);
    problems
}

fn walk(value: &Value, f: &mut dyn FnMut(Record<'_>, Option<&str>), problems: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| walk(v, f, problems)),
        Value::Object(map) => {
            if let Some((detail, account)) = eventbridge_record(value) {
                if let Some(record) = Record::new(detail) {
                    f(record, account);
                }
            } else if logs::is_subscription(value) {
                match logs::decode(value) {
                    Ok(message) => walk(&message, f, problems),
                    Err(e) => problems.push(e),
                }
            } else if logs::is_message(value) {
                match logs::message(value) {
                    Ok(logs::Message::Data { records, .. }) => {
                        for record in records {
                            match record {
                                Ok(record) => walk(&record, f, problems),
                                Err(e) => problems.push(e),
                            }
                        }
                    }
                    Ok(logs::Message::Control) => {}
                    Err(e) => problems.push(e),
                }
            } else if let Some(Value::Array(records)) = map.get(RECORDS.key) {
                records.iter().for_each(|v| walk(v, f, problems));
            } else if let Some(record) = Record::new(value) {
                f(record, None);
            }
        }
        other => problems.push(format!(
            "not a CloudTrail record (a JSON {}, not an object)",
            type_name(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_are_found_in_every_container() {
        let value = json!([
            {"eventName": "A"},
            {"Records": [{"eventName": "B"}, 5]},
            {"detail-type": "AWS API Call via CloudTrail", "account": "999", "detail": {"eventName": "C"}},
            {"detail-type": "EC2 Instance State-change Notification", "detail": {"eventName": "D"}},
            "text",
        ]);
        let mut seen = Vec::new();
        let problems = for_each_record(&value, &mut |r, account| {
            seen.push((r.event_name.map(str::to_owned), account.map(str::to_owned)))
        });
        assert_eq!(
            problems,
            [
                "not a CloudTrail record (a JSON number, not an object)",
                "not a CloudTrail record (a JSON string, not an object)"
            ]
        );
        let names: Vec<_> = seen
            .iter()
            .map(|(n, a)| (n.as_deref(), a.as_deref()))
            .collect();
        // A non-CloudTrail EventBridge event is taken as a (non-matching) record of its own.
        assert_eq!(
            names,
            vec![
                (Some("A"), None),
                (Some("B"), None),
                (Some("C"), Some("999")),
                (None, None)
            ]
        );
    }

    #[test]
    fn every_envelope_key_makes_an_object_read_as_cloudtrail() {
        for envelope in ENVELOPES {
            let value = json!({ envelope.key: [] });
            assert!(looks_like_cloudtrail(&value), "{}", envelope.key);
        }
        assert!(!looks_like_cloudtrail(&json!({"labels": []})));
        assert!(looks_like_cloudtrail(
            &json!({"eventname": "X", "awsregion": "y"})
        ));
        assert_eq!(compressed_keys().collect::<Vec<_>>(), ["awslogs"]);
    }
}
