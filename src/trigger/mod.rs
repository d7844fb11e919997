//! Recognises the payload a Lambda invocation carries and turns it into work: records to
//! evaluate and S3 objects to read, and how the invocation must be answered. Only this module
//! knows envelopes: the list of them and the walk through them is [`envelope`], CloudWatch Logs
//! payloads are [`logs`], S3 Batch Operations jobs [`s3_batch`].
//!
//! Recognised, also nested (S3 → SNS → SQS and the like):
//! - EventBridge "AWS API Call via CloudTrail" (and the other "... via CloudTrail" types): the
//!   `detail` is a record;
//! - S3 event notifications (`Records[].eventSource == "aws:s3"`), keys form-URL-decoded;
//! - EventBridge "Object Created" events from `aws.s3`;
//! - CloudWatch Logs subscriptions `{"awslogs": {"data": ...}}` (an organization trail's log
//!   group): each log event is a record; a control message is skipped; a payload that does not
//!   decode fails its unit;
//! - S3 Batch Operations invocations (schema 1.0 and 2.0): each task an object, answered one by
//!   one;
//! - SQS batches: each message body is a payload of its own, and its failures are reported per
//!   message (`batchItemFailures`);
//! - SNS notifications, delivered to Lambda, or to SQS raw or wrapped: the `Message` is a payload;
//! - CloudTrail's own SNS delivery notice `{"s3Bucket": ..., "s3ObjectKey": [...]}`;
//! - the `s3:TestEvent` S3 sends when a notification is configured (skipped);
//! - a bare CloudTrail record, or `{"Records": [...]}` of CloudTrail records (direct invocation).
//!
//! Anything else is reported as unrecognised: the handler logs it and ends successfully,
//! since delivering it again could not help.

use serde::Serialize;
use serde_json::Value;

use crate::cloudtrail;
use crate::source::ObjectRef;
use crate::text::preview;

pub mod envelope;
pub mod logs;
mod notice;
pub mod s3_batch;

use notice::{eventbridge_object, s3_record};

/// The outer envelope of an invocation: how the work arrived. Named in logs, in the summary
/// and as the `Trigger` of the metrics; an SQS batch also decides the shape of the answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// An SQS batch: the answer names the failed messages (`batchItemFailures`).
    Sqs,
    /// EventBridge "AWS API Call via CloudTrail" (or another "... via CloudTrail" type).
    EventbridgeCloudtrail,
    /// EventBridge "Object Created" from S3.
    EventbridgeS3,
    /// An SNS notification delivered to the function.
    Sns,
    /// An S3 event notification.
    S3,
    /// The `s3:TestEvent` of a new notification configuration.
    S3Test,
    /// CloudTrail's own SNS delivery notice.
    CloudtrailSns,
    /// `{"Records": [...]}` of CloudTrail records, given directly.
    CloudtrailRecords,
    /// A bare CloudTrail record, given directly.
    CloudtrailRecord,
    /// A CloudWatch Logs subscription (an organization trail's log group).
    CloudwatchLogs,
    /// An S3 Batch Operations job: one task per object; the answer names each task.
    S3Batch,
    /// Nothing we know.
    #[default]
    Unrecognised,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Sqs => "sqs",
            Trigger::EventbridgeCloudtrail => "eventbridge-cloudtrail",
            Trigger::EventbridgeS3 => "eventbridge-s3",
            Trigger::Sns => "sns",
            Trigger::S3 => "s3",
            Trigger::S3Test => "s3-test",
            Trigger::CloudtrailSns => "cloudtrail-sns",
            Trigger::CloudtrailRecords => "cloudtrail-records",
            Trigger::CloudtrailRecord => "cloudtrail-record",
            Trigger::CloudwatchLogs => "cloudwatch-logs",
            Trigger::S3Batch => "s3-batch",
            Trigger::Unrecognised => "unrecognised",
        }
    }
}

impl Serialize for Trigger {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// Evaluate this record; `account` is the envelope's account (the owner of last resort).
    Record {
        record: Value,
        account: Option<String>,
    },
    /// Read this S3 object.
    Object(ObjectRef),
    /// Nothing to do, and why (logged).
    Skip(String),
    /// A payload we recognise but cannot read (a CloudWatch Logs payload that does not
    /// decode): the unit fails, so that it is retried and then kept where someone sees it.
    Invalid(String),
}

/// Work that succeeds or fails as a whole: the invocation, one SQS message, or one S3 Batch
/// Operations task.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// The SQS message id (for `batchItemFailures`) or the S3 Batch Operations task id.
    pub message_id: Option<String>,
    pub work: Vec<Work>,
}

/// A classified payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// The outer envelope.
    pub trigger: Trigger,
    pub units: Vec<Unit>,
    /// How the invocation is answered.
    pub answer: Answer,
}

/// How an invocation is answered, so that nothing is lost and nothing is done twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An SQS batch: name the failed messages (`batchItemFailures`); SQS deletes the rest.
    SqsBatch,
    /// An S3 Batch Operations job: a result code for every task.
    S3Batch(s3_batch::Job),
    /// Anything else: fail the invocation when any unit failed, so that Lambda retries it.
    Plain,
}

/// How deep envelopes nest before we stop unwrapping (SQS → SNS → S3 is three).
const MAX_NESTING: usize = 4;

/// Classifies an invocation payload.
pub fn classify(payload: Value) -> Invocation {
    if s3_batch::is_invocation(&payload) {
        let (job, tasks) = s3_batch::tasks(&payload);
        let units = tasks
            .into_iter()
            .map(|(task_id, object)| Unit {
                message_id: Some(task_id),
                work: vec![object.map_or_else(Work::Invalid, Work::Object)],
            })
            .collect();
        return Invocation {
            trigger: Trigger::S3Batch,
            units,
            answer: Answer::S3Batch(job),
        };
    }
    if let Some(messages) = sqs_messages(&payload) {
        let units = messages
            .into_iter()
            .map(|(message_id, body)| Unit {
                message_id: Some(message_id),
                work: match body.as_deref().map(serde_json::from_str::<Value>) {
                    Some(Ok(inner)) => {
                        work(inner, 1).map_or_else(|why| vec![Work::Skip(why)], |w| w.1)
                    }
                    Some(Err(_)) => vec![Work::Skip(format!(
                        "SQS message body is not JSON: {}",
                        preview(body.as_deref().unwrap_or_default())
                    ))],
                    None => vec![Work::Skip("SQS message without a string body".to_owned())],
                },
            })
            .collect();
        return Invocation {
            trigger: Trigger::Sqs,
            units,
            answer: Answer::SqsBatch,
        };
    }
    let (trigger, work) =
        work(payload, 0).unwrap_or_else(|why| (Trigger::Unrecognised, vec![Work::Skip(why)]));
    Invocation {
        trigger,
        answer: Answer::Plain,
        units: vec![Unit {
            message_id: None,
            work,
        }],
    }
}

/// `(messageId, body)` of each record of an SQS event.
fn sqs_messages(payload: &Value) -> Option<Vec<(String, Option<String>)>> {
    let records = payload.get("Records")?.as_array()?;
    let first = records.first()?;
    if first.get("eventSource")?.as_str()? != "aws:sqs" {
        return None;
    }
    Some(
        records
            .iter()
            .map(|r| {
                let id = r
                    .get("messageId")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let body = r.get("body").and_then(Value::as_str).map(str::to_owned);
                (id.to_owned(), body)
            })
            .collect(),
    )
}

/// The work in one (possibly nested) envelope, and the envelope's name.
fn work(payload: Value, depth: usize) -> Result<(Trigger, Vec<Work>), String> {
    if depth > MAX_NESTING {
        return Err("envelopes nested too deep".to_owned());
    }
    let Value::Object(mut map) = payload else {
        return Err(format!(
            "payload is a JSON {}, not an object",
            cloudtrail::type_name(&payload)
        ));
    };

    if map.get(envelope::AWSLOGS.key).is_some() {
        return Ok((Trigger::CloudwatchLogs, log_records(&Value::Object(map))));
    }

    // EventBridge.
    if let Some(detail_type) = map.get(envelope::EVENTBRIDGE.key).and_then(Value::as_str) {
        let detail_type = detail_type.to_owned();
        let source = map
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if envelope::is_cloudtrail_detail_type(&detail_type) {
            let account = map
                .get("account")
                .and_then(Value::as_str)
                .map(str::to_owned);
            return match map.remove("detail") {
                Some(record @ Value::Object(_)) => Ok((
                    Trigger::EventbridgeCloudtrail,
                    vec![Work::Record { record, account }],
                )),
                _ => Err(format!(
                    "EventBridge \"{detail_type}\" event without a detail object"
                )),
            };
        }
        if detail_type == "Object Created" && source == "aws.s3" {
            let detail = map.get("detail").unwrap_or(&Value::Null);
            return eventbridge_object(detail)
                .map(|o| (Trigger::EventbridgeS3, vec![Work::Object(o)]));
        }
        return Err(format!(
            "EventBridge event of detail-type \"{detail_type}\" from \"{source}\" is not handled"
        ));
    }

    // SNS notification wrapped in SQS (not raw delivery): {"Type": "Notification", "Message": ...}.
    if map.get("Type").and_then(Value::as_str) == Some("Notification") {
        if let Some(message) = map.get("Message").and_then(Value::as_str) {
            return nested(message, depth).map(|(_, w)| (Trigger::Sns, w));
        }
    }

    if let Some(Value::Array(records)) = map.get_mut(envelope::RECORDS.key) {
        let first = records.first().cloned().unwrap_or(Value::Null);
        if first.get(envelope::SNS_RECORD.key).and_then(Value::as_str) == Some("aws:sns") {
            let mut all = Vec::new();
            for r in records.iter() {
                match r.pointer("/Sns/Message").and_then(Value::as_str) {
                    Some(message) => match nested(message, depth) {
                        Ok((_, w)) => all.extend(w),
                        Err(why) => all.push(Work::Skip(why)),
                    },
                    None => all.push(Work::Skip("SNS record without a Message".to_owned())),
                }
            }
            return Ok((Trigger::Sns, all));
        }
        if first.get("eventSource").and_then(Value::as_str) == Some("aws:s3") {
            return Ok((Trigger::S3, records.iter().map(s3_record).collect()));
        }
        // CloudTrail records, given directly: one odd item must not hide the others.
        if records.iter().any(|r| r.get("eventName").is_some()) {
            let all = records
                .drain(..)
                .map(|record| Work::Record {
                    record,
                    account: None,
                })
                .collect();
            return Ok((Trigger::CloudtrailRecords, all));
        }
        return Err("a \"Records\" payload that is neither SQS, SNS, S3 nor CloudTrail".to_owned());
    }

    // CloudTrail's own SNS delivery notice.
    if let (Some(bucket), Some(keys)) = (
        map.get("s3Bucket").and_then(Value::as_str),
        map.get(envelope::CLOUDTRAIL_NOTICE.key)
            .and_then(Value::as_array),
    ) {
        let objects = keys
            .iter()
            .filter_map(Value::as_str)
            .map(|key| Work::Object(ObjectRef::new(bucket, key)))
            .collect();
        return Ok((Trigger::CloudtrailSns, objects));
    }

    if map.get(envelope::S3_TEST.key).and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok((
            Trigger::S3Test,
            vec![Work::Skip(
                "the s3:TestEvent S3 sends when a notification is configured".to_owned(),
            )],
        ));
    }

    // A bare CloudTrail record (direct invocation, `cargo lambda invoke` with a record).
    if map.contains_key("eventName") && map.contains_key("eventSource") {
        return Ok((
            Trigger::CloudtrailRecord,
            vec![Work::Record {
                record: Value::Object(map),
                account: None,
            }],
        ));
    }

    let mut keys: Vec<&str> = map.keys().map(String::as_str).take(8).collect();
    keys.sort_unstable();
    Err(format!("unrecognised payload (keys: {})", keys.join(", ")))
}

/// The records of a CloudWatch Logs subscription payload. The payload's `owner` is the account
/// of the log group (for an organization trail, the management account), not the snapshot's:
/// records name their own account.
fn log_records(payload: &Value) -> Vec<Work> {
    let message = match logs::decode(payload) {
        Ok(message) => message,
        Err(e) => return vec![Work::Invalid(e)],
    };
    match logs::message(&message) {
        Ok(logs::Message::Control) => vec![Work::Skip(
            "a CloudWatch Logs CONTROL_MESSAGE (a health check of the subscription)".to_owned(),
        )],
        Ok(logs::Message::Data { records, .. }) => records
            .into_iter()
            .map(|record| match record {
                Ok(record @ Value::Object(_)) => Work::Record {
                    record,
                    account: None,
                },
                Ok(other) => Work::Invalid(format!(
                    "a CloudWatch Logs event whose message is a JSON {}, not a record",
                    cloudtrail::type_name(&other)
                )),
                Err(e) => Work::Invalid(e),
            })
            .collect(),
        Err(e) => vec![Work::Invalid(e)],
    }
}

/// A payload carried as a JSON string (SNS `Message`).
fn nested(message: &str, depth: usize) -> Result<(Trigger, Vec<Work>), String> {
    match serde_json::from_str::<Value>(message) {
        Ok(inner) => work(inner, depth + 1),
        Err(_) => Err(format!("SNS message is not JSON: {}", preview(message))),
    }
}
