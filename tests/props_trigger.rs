//! Property tests (proptest): the trigger (the envelope parser) on arbitrary JSON and on
//! mutated real envelopes.
//!
//! Case counts are set per property; `PROPTEST_CASES=N` overrides them all for a longer run.
//! Failures are not persisted to disk (proptest prints the minimal failing input instead).

mod support;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};
use snapshot_share_detector::cloudtrail::Record;
use snapshot_share_detector::rule::{self, TrustedAccounts};
use snapshot_share_detector::source::KeyLayout;
use snapshot_share_detector::trigger::{self, Answer, Invocation, Trigger, Work};
use support::cases::*;
use support::edits::byte_edit;

/// Keys and strings the trigger looks for, so that arbitrary values reach its branches.
const KEYS: &[&str] = &[
    "Records",
    "eventSource",
    "EventSource",
    "eventName",
    "eventVersion",
    "messageId",
    "body",
    "Sns",
    "Message",
    "Type",
    "detail-type",
    "detail",
    "source",
    "account",
    "s3",
    "bucket",
    "name",
    "object",
    "key",
    "size",
    "versionId",
    "version-id",
    "s3Bucket",
    "s3ObjectKey",
    "Event",
    "",
];
const STRINGS: &[&str] = &[
    "aws:sqs",
    "aws:sns",
    "aws:s3",
    "ObjectCreated:Put",
    "ObjectRemoved:Delete",
    "Notification",
    "AWS API Call via CloudTrail",
    "AWS Service Event via CloudTrail",
    "Object Created",
    "aws.s3",
    "aws.ec2",
    "s3:TestEvent",
    "ModifySnapshotAttribute",
    "ec2.amazonaws.com",
    "AWSLogs/1/CloudTrail/x.json.gz",
    "a%2Fb+c%ZZ%e9",
    "",
    "\u{1F600}\u{0}",
];

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => (-1e300f64..1e300).prop_map(Value::from),
        3 => select(STRINGS.to_vec()).prop_map(Value::from),
        1 => any::<String>().prop_map(Value::String),
    ];
    let key = prop_oneof![4 => select(KEYS.to_vec()).prop_map(str::to_owned), 1 => any::<String>()];
    leaf.prop_recursive(6, 96, 8, move |inner| {
        prop_oneof![
            2 => prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            4 => prop::collection::btree_map(key.clone(), inner.clone(), 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            // A payload inside a string: SQS bodies and SNS messages.
            1 => inner.clone().prop_map(|v| Value::String(v.to_string())),
            // The envelopes the trigger knows, with arbitrary values in their fields.
            4 => (select((0..9).collect::<Vec<_>>()), inner.clone(), inner)
                .prop_map(|(shape, a, b)| envelope_shape(shape, a, b)),
        ]
    })
}

/// Envelope `shape` (one of 9) around the arbitrary values `a` and `b`.
fn envelope_shape(shape: usize, a: Value, b: Value) -> Value {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match shape {
        0 => json!({"Records": [{"messageId": "m-1", "eventSource": "aws:sqs", "body": text(&a)},
                                {"messageId": b, "eventSource": "aws:sqs", "body": text(&b)}]}),
        1 => json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": text(&a)}}, b]}),
        2 => json!({"Type": "Notification", "Message": text(&a), "MessageId": b}),
        3 => json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
                    "account": b, "detail": a}),
        4 => json!({"detail-type": "Object Created", "source": "aws.s3",
                    "detail": {"bucket": {"name": a}, "object": {"key": b, "size": 5}}}),
        5 => json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                 "s3": {"bucket": {"name": "b"},
                                        "object": {"key": a, "size": b}}}]}),
        6 => json!({"s3Bucket": a, "s3ObjectKey": [b, "AWSLogs/x.json.gz"]}),
        7 => json!({"Records": [{"eventName": a, "eventVersion": "1.09"}, b]}),
        _ => json!({"eventName": "ModifySnapshotAttribute", "eventSource": a,
                    "requestParameters": b}),
    }
}

/// What holds of every classification.
fn check_invocation(payload: &Value, inv: &Invocation) -> Result<(), TestCaseError> {
    if inv.trigger == Trigger::Sqs {
        let records = payload["Records"].as_array().unwrap();
        prop_assert_eq!(inv.units.len(), records.len());
        prop_assert!(inv.units.iter().all(|u| u.message_id.is_some()));
        prop_assert_eq!(&inv.answer, &Answer::SqsBatch);
    } else if inv.trigger == Trigger::S3Batch {
        // One unit per task, each answered by its task id.
        let tasks = payload["tasks"].as_array().map_or(0, Vec::len);
        prop_assert_eq!(inv.units.len(), tasks);
        prop_assert!(inv.units.iter().all(|u| u.message_id.is_some()));
        prop_assert!(matches!(inv.answer, Answer::S3Batch(_)));
    } else {
        prop_assert_eq!(inv.units.len(), 1);
        prop_assert!(inv.units[0].message_id.is_none());
        prop_assert_eq!(&inv.answer, &Answer::Plain);
    }
    for unit in &inv.units {
        for work in &unit.work {
            match work {
                // What the pipeline does with it: a non-object (a `Records` list given
                // directly hands over its odd items as they are) holds no record.
                Work::Record { record, account } => {
                    if let Some(view) = Record::new(record) {
                        let trusted = TrustedAccounts::parse(FOREIGN[0]);
                        let detected =
                            rule::evaluate_record(&view, account.as_deref(), &trusted, None);
                        for finding in detected.findings {
                            prop_assert!(!finding.to_json().is_empty());
                        }
                    }
                }
                Work::Object(o) => {
                    let _ = (o.url(), o.skip_reason_in(KeyLayout::Aws));
                }
                Work::Skip(why) | Work::Invalid(why) => prop_assert!(!why.is_empty()),
            }
        }
    }
    Ok(())
}

/// The real envelopes of tests/fixtures/envelopes and the sample events, read once.
fn envelopes() -> &'static [Value] {
    static ALL: OnceLock<Vec<Value>> = OnceLock::new();
    ALL.get_or_init(read_envelopes)
}

fn read_envelopes() -> Vec<Value> {
    let mut paths: Vec<_> = std::fs::read_dir("tests/fixtures/envelopes")
        .unwrap()
        .chain(std::fs::read_dir("events").unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let values: Vec<Value> = paths
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert!(values.len() >= 20, "only {} envelopes", values.len());
    values
}

/// One edit of a JSON tree. Nodes are numbered in pre-order; a string that holds JSON (an SQS
/// body, an SNS message) counts its inner nodes too, so edits reach nested payloads.
#[derive(Debug, Clone)]
enum TreeEdit {
    Replace {
        at: u16,
        with: Value,
    },
    Remove {
        at: u16,
    },
    /// Turn the node into its JSON text (or, for a string of JSON, into the value).
    Flip {
        at: u16,
    },
}

fn tree_edit() -> impl Strategy<Value = TreeEdit> {
    let at = 0..=1000u16;
    prop_oneof![
        3 => (at.clone(), arbitrary_json()).prop_map(|(at, with)| TreeEdit::Replace { at, with }),
        2 => (at.clone(), select(STRINGS.to_vec()))
            .prop_map(|(at, s)| TreeEdit::Replace { at, with: Value::from(s) }),
        3 => at.clone().prop_map(|at| TreeEdit::Remove { at }),
        1 => at.prop_map(|at| TreeEdit::Flip { at }),
    ]
}

fn inner_json(s: &str) -> Option<Value> {
    serde_json::from_str::<Value>(s)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        Value::String(s) => inner_json(s).map_or(0, |inner| count_nodes(&inner)),
        _ => 0,
    }
}

/// Applies `edit` to node number `*n` of `v` (counting down); true once applied.
fn edit_node(v: &mut Value, n: &mut usize, edit: &TreeEdit) -> bool {
    if *n == 0 {
        match edit {
            TreeEdit::Replace { with, .. } => *v = with.clone(),
            TreeEdit::Remove { .. } => *v = Value::Null,
            TreeEdit::Flip { .. } => {
                *v = match &*v {
                    Value::String(s) => inner_json(s).unwrap_or_else(|| Value::String(s.clone())),
                    other => Value::String(other.to_string()),
                }
            }
        }
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(items) => {
            for i in 0..items.len() {
                if *n == 0 && matches!(edit, TreeEdit::Remove { .. }) {
                    items.remove(i);
                    return true;
                }
                if edit_node(&mut items[i], n, edit) {
                    return true;
                }
            }
            false
        }
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if *n == 0 && matches!(edit, TreeEdit::Remove { .. }) {
                    map.remove(&k);
                    return true;
                }
                if edit_node(map.get_mut(&k).unwrap(), n, edit) {
                    return true;
                }
            }
            false
        }
        Value::String(s) => {
            let Some(mut inner) = inner_json(s) else {
                return false;
            };
            if edit_node(&mut inner, n, edit) {
                *s = inner.to_string();
                return true;
            }
            false
        }
        _ => false,
    }
}

/// `payload` after `edits`, each at its fraction of the current tree.
fn edited(payload: &Value, edits: &[TreeEdit]) -> Value {
    let mut payload = payload.clone();
    for e in edits {
        let at = match e {
            TreeEdit::Replace { at, .. } | TreeEdit::Remove { at } | TreeEdit::Flip { at } => *at,
        };
        let mut n = (count_nodes(&payload) - 1) * at as usize / 1000;
        edit_node(&mut payload, &mut n, e);
    }
    payload
}

fn sqs_event(body: String) -> Value {
    json!({"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "eventSource": "aws:sqs",
        "body": body,
    }]})
}

proptest! {
    #![proptest_config(config(1000))]

    /// `classify` never panics on any JSON value, and its answer has the right shape.
    #[test]
    fn classify_never_panics(payload in arbitrary_json()) {
        let inv = trigger::classify(payload.clone());
        check_invocation(&payload, &inv)?;
        let sqs = sqs_event(payload.to_string());
        let inv = trigger::classify(sqs.clone());
        check_invocation(&sqs, &inv)?;
    }
}

proptest! {
    #![proptest_config(config(600))]

    /// Real envelopes (and the sample events), edited anywhere in their tree (nested payloads
    /// included) or mutated byte by byte, never make `classify` panic; nor do the mutated bytes
    /// as an SQS message body.
    #[test]
    fn classify_never_panics_on_mutated_envelopes(
        which in any::<prop::sample::Index>(),
        tree_edits in prop::collection::vec(tree_edit(), 0..4),
        byte_edits in prop::collection::vec(byte_edit(), 0..4),
    ) {
        let payload = edited(which.get(envelopes()), &tree_edits);
        let inv = trigger::classify(payload.clone());
        check_invocation(&payload, &inv)?;

        let mut bytes = payload.to_string().into_bytes();
        for e in &byte_edits {
            e.apply(&mut bytes);
        }
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            let inv = trigger::classify(value.clone());
            check_invocation(&value, &inv)?;
        }
        let sqs = sqs_event(String::from_utf8_lossy(&bytes).into_owned());
        let inv = trigger::classify(sqs.clone());
        check_invocation(&sqs, &inv)?;
    }
}

#[test]
fn the_payload_generators_reach_every_envelope() {
    let mut seen = BTreeSet::new();
    for payload in sample(arbitrary_json(), 1000) {
        seen.insert(trigger::classify(payload).trigger.as_str());
    }
    let edits = sample(
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(tree_edit(), 0..4),
        ),
        300,
    );
    for (which, tree_edits) in edits {
        let payload = edited(which.get(envelopes()), &tree_edits);
        seen.insert(trigger::classify(payload).trigger.as_str());
    }
    for kind in [
        "sqs",
        "sns",
        "s3",
        "eventbridge-cloudtrail",
        "eventbridge-s3",
        "cloudtrail-sns",
        "s3-test",
        "cloudtrail-record",
        "unrecognised",
    ] {
        assert!(seen.contains(kind), "no {kind} payload generated: {seen:?}");
    }
}
