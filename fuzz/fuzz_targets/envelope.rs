//! `trigger::classify` on arbitrary bytes: as a JSON payload when they parse, and as the body
//! of an SQS message and the message of an SNS notification whatever they are. Each record
//! handed over is evaluated as the pipeline would, and each object named is formatted.
//!
//! Checked: no panic; an SQS batch gives one unit per message, each with its id; any other
//! payload one unit without one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use snapshot_share_detector::cloudtrail::Record;
use snapshot_share_detector::rule::{self, TrustedAccounts};
use snapshot_share_detector::sink::sns;
use snapshot_share_detector::trigger::{self, Work};

fn classify(payload: Value) {
    let messages = match payload.get("Records") {
        Some(Value::Array(r))
            if r.first().and_then(|m| m.get("eventSource")) == Some(&json!("aws:sqs")) =>
        {
            Some(r.len())
        }
        _ => None,
    };
    let inv = trigger::classify(payload);
    let sqs = inv.trigger == trigger::Trigger::Sqs;
    assert_eq!(sqs, inv.trigger.as_str() == "sqs");
    assert_eq!(sqs, messages.is_some(), "{}", inv.trigger.as_str());
    match messages {
        Some(n) => {
            assert_eq!(inv.units.len(), n);
            assert!(inv.units.iter().all(|u| u.message_id.is_some()));
        }
        None => {
            assert_eq!(inv.units.len(), 1);
            assert!(inv.units[0].message_id.is_none());
        }
    }
    let trusted = TrustedAccounts::parse("444455556666");
    for work in inv.units.iter().flat_map(|u| &u.work) {
        match work {
            Work::Record { record, account } => {
                if let Some(view) = Record::new(record) {
                    for f in rule::detect(&view, account.as_deref(), &trusted, None) {
                        let _ = (f.to_json(), sns::subject(&f), sns::attributes(&f));
                    }
                }
            }
            Work::Object(o) => {
                let _ = (o.url(), o.skip_reason());
            }
            Work::Skip(why) | Work::Invalid(why) => assert!(!why.is_empty()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        classify(value);
    }
    let text = String::from_utf8_lossy(data);
    classify(json!({"Records": [
        {"messageId": "059f36b4-87a3-44ab-83d2-661975830a7d", "eventSource": "aws:sqs",
         "body": text},
        {"messageId": "2e1424d4-f796-459a-8184-9c92662be6da", "eventSource": "aws:sqs",
         "body": "{}"},
    ]}));
    classify(json!({"Records": [
        {"EventSource": "aws:sns", "Sns": {"Message": text}},
    ]}));
});
