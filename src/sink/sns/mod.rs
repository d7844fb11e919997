//! The SNS topic: findings sent with `PublishBatch`, a subject for e-mail subscribers and
//! message attributes for subscription filter policies.
//!
//! On a standard topic each message is a per-protocol message (`MessageStructure=json`): e-mail
//! subscribers get a plain-text body written for people (`message::email_text`); queues, functions,
//! Firehose and HTTP(S) endpoints get the JSON finding, byte for byte as on stdout. With
//! [`NotificationFormat::Chatbot`], HTTP(S) subscribers (Amazon Q Developer in chat
//! applications among them) get its custom notification instead (`message::chatbot_message`).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use serde_json::json;

use super::message;
pub use super::message::{chatbot_message, email_text, subject};
use super::{PublishError, Published, Publishing, Sink};
use crate::finding::Finding;

/// How messages are written for the topic's non-machine subscribers (`NOTIFICATION_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotificationFormat {
    /// E-mail gets plain text, every other protocol the JSON finding.
    #[default]
    Json,
    /// As `Json`, and HTTP(S) subscribers, and any protocol SNS adds later, get the custom
    /// notification of Amazon Q Developer in chat applications (formerly AWS Chatbot), so that
    /// a Slack or Teams channel shows a card. Queues, functions, Firehose and `email-json`
    /// keep the JSON finding.
    Chatbot,
}

impl NotificationFormat {
    /// `json` or `chatbot` (any case; `amazon-q` and `chat` are taken for `chatbot`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "json" | "default" => Some(NotificationFormat::Json),
            "chatbot" | "chat" | "amazon-q" => Some(NotificationFormat::Chatbot),
            _ => None,
        }
    }
}

/// Largest per-protocol message we send; past it (a finding made huge by crafted record
/// fields), the entry carries the JSON finding alone, as before per-protocol messages, so that
/// it stays well inside SNS's 256 KiB per message.
const MAX_STRUCTURED_BYTES: usize = 192 * 1024;

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
    format: NotificationFormat,
}

impl SnsSink {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        let topic_arn = topic_arn.into();
        SnsSink {
            client,
            fifo: topic_arn.ends_with(".fifo"),
            topic_arn,
            format: NotificationFormat::default(),
        }
    }

    /// The same sink, writing messages for people in `format`.
    pub fn with_format(mut self, format: NotificationFormat) -> Self {
        self.format = format;
        self
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
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        Box::pin(self.deliver(findings))
    }
}

impl SnsSink {
    async fn deliver(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        let attempted = findings.len();
        let mut failed = 0;
        let mut reason = None;
        let mut batch = Vec::new();
        let mut batch_bytes = 0;
        let mut gave_up = false;
        // Entry ids only need to be unique within a batch: the position in `findings` is.
        for (id, finding) in findings.iter().enumerate() {
            let entry = match batch_entry_as(id, finding, self.fifo, self.format) {
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

/// [`batch_entry_as`] in the default format.
pub fn batch_entry(id: usize, f: &Finding, fifo: bool) -> Result<PublishBatchRequestEntry, String> {
    batch_entry_as(id, f, fifo, NotificationFormat::default())
}

/// The `PublishBatch` entry of one finding: the message ([`message`]), a short subject, the
/// message attributes that filter policies use, and on a FIFO topic the group (the snapshot)
/// and deduplication (the finding id) ids.
pub fn batch_entry_as(
    id: usize,
    f: &Finding,
    fifo: bool,
    format: NotificationFormat,
) -> Result<PublishBatchRequestEntry, String> {
    let mut values = HashMap::new();
    for (name, data_type, value) in attributes(f) {
        let value = MessageAttributeValue::builder()
            .data_type(data_type)
            .string_value(value)
            .build()
            .map_err(|e| e.to_string())?;
        values.insert(name.to_owned(), value);
    }
    let (body, structured) = message(f, fifo, format);
    let mut entry = PublishBatchRequestEntry::builder()
        .id(id.to_string())
        .message(body)
        .subject(subject(f))
        .set_message_attributes(Some(values));
    if structured {
        entry = entry.message_structure("json");
    }
    if fifo {
        entry = entry
            .message_group_id(f.resource.id.as_deref().unwrap_or("unknown-resource"))
            .message_deduplication_id(&f.finding_id);
    }
    entry.build().map_err(|e| e.to_string())
}

/// The message of one finding, and whether it is a per-protocol message (`MessageStructure`
/// `json`). On a FIFO topic, which only queues can subscribe to, it is the JSON finding. On a
/// standard topic it is `{"default": JSON, "email": TEXT}` (every protocol but e-mail takes
/// `default`); with [`NotificationFormat::Chatbot`], `default` is the chat notification and
/// `sqs`, `lambda`, `firehose` and `email-json` are named with the JSON finding.
pub fn message(f: &Finding, fifo: bool, format: NotificationFormat) -> (String, bool) {
    let finding = f.to_json();
    if fifo {
        return (finding, false);
    }
    let text = email_text(f);
    let structured = match format {
        NotificationFormat::Json => json!({"default": finding, "email": text}),
        NotificationFormat::Chatbot => json!({
            "default": chatbot_message(f).to_string(),
            "email": text,
            "email-json": finding,
            "sqs": finding,
            "lambda": finding,
            "firehose": finding,
        }),
    }
    .to_string();
    if structured.len() > MAX_STRUCTURED_BYTES {
        return (finding, false);
    }
    (structured, true)
}

/// Bytes an entry adds to a batch's payload, as SNS counts it (message, subject, attributes).
/// A per-protocol message counts whole: every copy of the finding in it, escaped.
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

/// SNS message attributes for subscription filter policies: (name, data type, value).
/// `finding_kind` is the rule's kind (`share`, `use`, ...) and `resource_type` what it is about
/// (`ebs-snapshot`, `ami`, ...); for a use, `target_account` is the account that used the
/// snapshot and `public` is `false` (the finding is not a public share). `status` is `open`,
/// or `resolved` for a resolution (the share it reported ended), so that a subscription can
/// take or leave those. SNS allows ten attributes: this is the tenth.
pub fn attributes(f: &Finding) -> Vec<(&'static str, &'static str, String)> {
    let member = f.target.as_ref().and_then(|t| t.organization_member);
    let mut attributes = vec![
        ("severity", "String", f.rule.severity.clone()),
        ("risk_score", "Number", f.rule.risk_score.to_string()),
        ("rule_id", "String", f.rule.id.clone()),
        ("finding_kind", "String", message::kind(f).to_owned()),
        (
            "resource_type",
            "String",
            f.resource.kind.as_str().to_owned(),
        ),
        ("event_action", "String", f.event.action.clone()),
        ("target_account", "String", f.user_id.clone()),
        ("public", "String", f.is_public().to_string()),
        ("status", "String", f.status.as_str().to_owned()),
    ];
    attributes.extend(member.map(|m| ("organization_member", "String", m.to_string())));
    attributes
}

#[cfg(test)]
mod tests;
