//! The SNS topic: findings sent with `PublishBatch`, a subject for e-mail subscribers and
//! message attributes for subscription filter policies.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

use super::{PublishError, Published, Sink};
use crate::finding::{Finding, SEVERITY};

/// Most entries in one SNS `PublishBatch` call.
pub const BATCH_ENTRIES: usize = 10;
/// Most payload bytes in one `PublishBatch` call: SNS allows 256 KiB for the whole batch;
/// leave room for what the estimate does not count.
const BATCH_BYTES: usize = 240 * 1024;
/// Rounds for entries that SNS reported as failed without the sender at fault (the SDK retries
/// whole calls, not single entries).
const ENTRY_ATTEMPTS: u32 = 3;

/// Publishes to an SNS topic with `PublishBatch`.
#[derive(Debug, Clone)]
pub struct SnsSink {
    client: aws_sdk_sns::Client,
    topic_arn: String,
    fifo: bool,
}

impl SnsSink {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        let topic_arn = topic_arn.into();
        SnsSink {
            client,
            fifo: topic_arn.ends_with(".fifo"),
            topic_arn,
        }
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Sends one batch, retrying the entries that failed on SNS's side.
    async fn send(&self, mut pending: Vec<PublishBatchRequestEntry>) -> Sent {
        let mut rejected = 0;
        let mut reason = None;
        for attempt in 0..ENTRY_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            let result = self
                .client
                .publish_batch()
                .topic_arn(&self.topic_arn)
                .set_publish_batch_request_entries(Some(pending.clone()))
                .send()
                .await;
            let output = match result {
                Ok(output) => output,
                // The SDK has already retried what it deems transient.
                Err(e) => {
                    return Sent {
                        undelivered: rejected + pending.len(),
                        reason: Some(crate::aws::describe(&e)),
                        call_failed: true,
                    };
                }
            };
            let mut retry = Vec::new();
            // An entry the answer does not list at all was not delivered either: SNS says this
            // cannot happen, and a detector does not take that on trust.
            for entry in &pending {
                let listed = output
                    .successful()
                    .iter()
                    .any(|s| s.id() == Some(entry.id()))
                    || output.failed().iter().any(|f| f.id() == entry.id());
                if !listed {
                    reason = Some(format!("entry {} missing from the answer", entry.id()));
                    retry.push(entry.clone());
                }
            }
            for failure in output.failed() {
                reason = Some(format!(
                    "{}: {}",
                    failure.code(),
                    failure.message().unwrap_or("no message")
                ));
                let Some(entry) = pending.iter().find(|e| e.id() == failure.id()) else {
                    continue;
                };
                if failure.sender_fault() {
                    // The request itself is wrong: a retry cannot help.
                    rejected += 1;
                } else {
                    retry.push(entry.clone());
                }
            }
            if retry.is_empty() {
                return Sent {
                    undelivered: rejected,
                    reason,
                    call_failed: false,
                };
            }
            tracing::warn!(
                entries = retry.len(),
                reason = reason.as_deref(),
                "PublishBatch entries failed on the service side; retrying them"
            );
            pending = retry;
        }
        Sent {
            undelivered: rejected + pending.len(),
            reason,
            call_failed: false,
        }
    }
}

impl Sink for SnsSink {
    async fn publish(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        let attempted = findings.len();
        let mut failed = 0;
        let mut reason = None;
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        let mut gave_up = false;
        // Entry ids only need to be unique within a batch: the position in `findings` is.
        for (id, finding) in findings.iter().enumerate() {
            let entry = match batch_entry(id, finding, self.fifo) {
                Ok(entry) => entry,
                Err(e) => {
                    failed += 1;
                    reason = Some(e);
                    continue;
                }
            };
            let size = entry_size(&entry);
            let full = batch.len() == BATCH_ENTRIES || batch_bytes + size > BATCH_BYTES;
            if full && !batch.is_empty() {
                if gave_up {
                    failed += batch.len();
                    batch.clear();
                } else {
                    let sent = self.send(std::mem::take(&mut batch)).await;
                    failed += sent.undelivered;
                    reason = sent.reason.or(reason);
                    // Once a whole call has failed past the SDK's retries (the topic is
                    // unreachable, throttled or gone), the rest is counted undelivered at once
                    // rather than spending the function's time on calls that would fail too:
                    // the invocation fails either way, and its retry delivers everything.
                    gave_up = sent.call_failed;
                }
                batch_bytes = 0;
            }
            batch_bytes += size;
            batch.push(entry);
        }
        if !batch.is_empty() {
            if gave_up {
                failed += batch.len();
            } else {
                let sent = self.send(batch).await;
                failed += sent.undelivered;
                reason = sent.reason.or(reason);
            }
        }
        if failed == 0 {
            return Ok(Published::all(attempted));
        }
        Err(PublishError {
            attempted,
            failed,
            reason: format!(
                "topic {}: {}",
                self.topic_arn,
                reason.unwrap_or_else(|| "unknown error".to_owned())
            ),
            ..PublishError::default()
        })
    }
}

/// The `PublishBatch` entry of one finding: the finding as the message, a short subject, the
/// message attributes that filter policies use, and on a FIFO topic the group (the snapshot)
/// and deduplication (the finding id) ids.
pub fn batch_entry(id: usize, f: &Finding, fifo: bool) -> Result<PublishBatchRequestEntry, String> {
    let mut values = HashMap::new();
    for (name, data_type, value) in attributes(f) {
        let value = MessageAttributeValue::builder()
            .data_type(data_type)
            .string_value(value)
            .build()
            .map_err(|e| e.to_string())?;
        values.insert(name.to_owned(), value);
    }
    let mut entry = PublishBatchRequestEntry::builder()
        .id(id.to_string())
        .message(f.to_json())
        .subject(subject(f))
        .set_message_attributes(Some(values));
    if fifo {
        entry = entry
            .message_group_id(f.snapshot_id.as_deref().unwrap_or("unknown-snapshot"))
            .message_deduplication_id(&f.finding_id);
    }
    entry.build().map_err(|e| e.to_string())
}

/// Bytes an entry adds to a batch's payload, as SNS counts it (message, subject, attributes).
fn entry_size(e: &PublishBatchRequestEntry) -> usize {
    let attributes: usize = e
        .message_attributes()
        .map(|m| {
            m.iter()
                .map(|(k, v)| k.len() + v.data_type().len() + v.string_value().map_or(0, str::len))
                .sum()
        })
        .unwrap_or(0);
    e.message().len() + e.subject().map_or(0, str::len) + attributes
}

/// What became of one `PublishBatch` batch.
struct Sent {
    /// Entries not delivered.
    undelivered: usize,
    /// Why the last entry or call failed.
    reason: Option<String>,
    /// The call itself failed past the SDK's retries: the next batches would most likely fail
    /// the same way.
    call_failed: bool,
}

/// A one-line SNS subject under 100 characters, for e-mail subscribers.
pub fn subject(f: &Finding) -> String {
    let snapshot = f.snapshot_id.as_deref().unwrap_or("(unknown)");
    let subject = if f.public {
        format!(
            "[{SEVERITY}] EBS snapshot {} made public",
            subject_safe(snapshot, 32)
        )
    } else {
        format!(
            "[{SEVERITY}] EBS snapshot {} shared with {}",
            subject_safe(snapshot, 32),
            subject_safe(&f.user_id, 24)
        )
    };
    debug_assert!(subject.len() < 100);
    subject
}

/// SNS message attributes for subscription filter policies: (name, data type, value).
pub fn attributes(f: &Finding) -> Vec<(&'static str, &'static str, String)> {
    let member = f.target.as_ref().and_then(|t| t.organization_member);
    let mut attributes = vec![
        ("severity", "String", f.rule.severity.clone()),
        ("risk_score", "Number", f.rule.risk_score.to_string()),
        ("rule_id", "String", f.rule.id.clone()),
        ("event_action", "String", f.event.action.clone()),
        ("target_account", "String", f.user_id.clone()),
        ("public", "String", f.public.to_string()),
    ];
    attributes.extend(member.map(|m| ("organization_member", "String", m.to_string())));
    attributes
}

/// Printable ASCII only (SNS subjects allow no control characters), at most `max` characters.
fn subject_safe(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('~');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudtrail::Record;
    use crate::finding::RULE_ID;
    use crate::rule::{self, TrustedAccounts};
    use serde_json::json;

    fn share_record() -> serde_json::Value {
        json!({
            "eventID": "6897ff63-d738-445c-9e86-43e5b1f8e12f",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "ModifySnapshotAttribute",
            "recipientAccountId": "756680937392",
            "requestParameters": {"snapshotId": "snap-041993b54a9b3af6f",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"userId": "098797384747"}, {"group": "all"}]}}}
        })
    }

    fn findings(raw: &serde_json::Value) -> Vec<Finding> {
        let record = Record::new(raw).unwrap();
        rule::detect(&record, None, &TrustedAccounts::default(), None)
    }

    #[test]
    fn subjects_are_short_and_printable() {
        let raw = share_record();
        let f = findings(&raw);
        assert_eq!(
            subject(&f[0]),
            "[low] EBS snapshot snap-041993b54a9b3af6f shared with 098797384747"
        );
        assert_eq!(
            subject(&f[1]),
            "[low] EBS snapshot snap-041993b54a9b3af6f made public"
        );
        let mut hostile = share_record();
        hostile["requestParameters"]["snapshotId"] = json!(format!("snap-\n{}", "x".repeat(500)));
        let s = subject(&findings(&hostile)[0]);
        assert!(s.len() < 100 && !s.contains('\n'), "{s}");
    }

    #[test]
    fn attributes_for_filter_policies() {
        let raw = share_record();
        let f = findings(&raw);
        let attrs = attributes(&f[1]);
        assert!(attrs.contains(&("severity", "String", "low".to_owned())));
        assert!(attrs.contains(&("risk_score", "Number", "21".to_owned())));
        assert!(attrs.contains(&("target_account", "String", "all".to_owned())));
        assert!(attrs.contains(&("public", "String", "true".to_owned())));
        assert!(attrs.contains(&("rule_id", "String", RULE_ID.to_owned())));
        assert!(attrs.contains(&("event_action", "String", rule::EVENT_NAME.to_owned())));
    }
}
