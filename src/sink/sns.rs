//! The SNS topic: findings sent with `PublishBatch`, a subject for e-mail subscribers and
//! message attributes for subscription filter policies.
//!
//! On a standard topic each message is a per-protocol message (`MessageStructure=json`): e-mail
//! subscribers get a plain-text body written for people ([`email_text`]); queues, functions,
//! Firehose and HTTP(S) endpoints get the JSON finding, byte for byte as on stdout. With
//! [`NotificationFormat::Chatbot`], HTTP(S) subscribers (Amazon Q Developer in chat
//! applications among them) get its custom notification instead ([`chatbot_message`]).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use serde_json::{json, Value};

use super::{PublishError, Published, Sink};
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
    async fn publish(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
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
            .message_group_id(f.snapshot_id.as_deref().unwrap_or("unknown-snapshot"))
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

/// A one-line SNS subject under 100 characters, for e-mail subscribers.
pub fn subject(f: &Finding) -> String {
    let snapshot = f.snapshot_id.as_deref().unwrap_or("(unknown)");
    let severity = subject_safe(&f.rule.severity, 8);
    let subject = if f.is_use() {
        let verb = if f.event.action == crate::rule::used::COPY_EVENT {
            "copied by"
        } else {
            "made a volume in"
        };
        format!(
            "[{severity}] EBS snapshot {} {verb} {}",
            subject_safe(snapshot, 32),
            subject_safe(&f.user_id, 24)
        )
    } else if f.is_public() {
        format!(
            "[{severity}] EBS snapshot {} made public",
            subject_safe(snapshot, 32)
        )
    } else {
        format!(
            "[{severity}] EBS snapshot {} shared with {}",
            subject_safe(snapshot, 32),
            subject_safe(&f.user_id, 24)
        )
    };
    debug_assert!(subject.len() < 100);
    subject
}

/// SNS message attributes for subscription filter policies: (name, data type, value).
/// `finding_kind` is `share` or `use`; for a use, `target_account` is the account that used
/// the snapshot and `public` is `false` (the finding is not a public share).
pub fn attributes(f: &Finding) -> Vec<(&'static str, &'static str, String)> {
    let member = f.target.as_ref().and_then(|t| t.organization_member);
    let mut attributes = vec![
        ("severity", "String", f.rule.severity.clone()),
        ("risk_score", "Number", f.rule.risk_score.to_string()),
        ("rule_id", "String", f.rule.id.clone()),
        ("finding_kind", "String", f.kind().to_owned()),
        ("event_action", "String", f.event.action.clone()),
        ("target_account", "String", f.user_id.clone()),
        ("public", "String", f.is_public().to_string()),
    ];
    attributes.extend(member.map(|m| ("organization_member", "String", m.to_string())));
    attributes
}

/// What the finding says happened, in one line for people: who did what to which snapshot.
fn headline(f: &Finding) -> String {
    printable(&f.message)
}

/// Control characters (a crafted record field could carry line breaks) shown as `?`, so that
/// a field cannot forge lines of the text around it.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// (label, value) lines describing the finding, each present only when the finding has it.
fn facts(f: &Finding) -> Vec<(&'static str, String)> {
    let ct = &f.aws.cloudtrail;
    let mut lines = vec![(
        "Rule",
        format!(
            "{} (severity {}, risk score {})",
            f.rule.name, f.rule.severity, f.rule.risk_score
        ),
    )];
    let when = match (&f.timestamp, &f.event.original_time) {
        (Some(t), _) => t.clone(),
        (None, Some(raw)) => format!("{raw} (as recorded; not a time we could read)"),
        (None, None) => "not recorded".to_owned(),
    };
    lines.push(("When", when));
    if let Some(snapshot) = &f.snapshot_id {
        lines.push(("Snapshot", snapshot.clone()));
    }
    let owner = f.cloud.account.as_ref().map(|a| a.id.as_str());
    let region = f.cloud.region.as_deref();
    lines.push((
        "Owner account",
        match (owner, region) {
            (Some(o), Some(r)) => format!("{o} (region {r})"),
            (Some(o), None) => o.to_owned(),
            (None, Some(r)) => format!("unknown (region {r})"),
            (None, None) => "unknown".to_owned(),
        },
    ));
    if f.is_use() {
        lines.push(("Used by account", f.user_id.clone()));
    } else if f.is_public() {
        lines.push(("Shared with", "everyone (public)".to_owned()));
    } else {
        lines.push(("Shared with account", f.user_id.clone()));
    }
    let identity = &ct.user_identity;
    if let Some(arn) = &identity.arn {
        let kind = identity
            .kind
            .as_deref()
            .map(|k| format!(" ({k})"))
            .unwrap_or_default();
        lines.push(("By", format!("{arn}{kind}")));
    } else if let Some(by) = &identity.invoked_by {
        lines.push(("By", format!("the service {by}")));
    }
    if let Some(source) = &f.source {
        lines.push(("From", source.address.clone()));
    }
    if let Some(ua) = &f.user_agent {
        lines.push(("User agent", ua.original.clone()));
    }
    let mut event = f.event.action.clone();
    if let Some(id) = &f.event.id {
        event.push_str(&format!(", event id {id}"));
    }
    if let Some(id) = &ct.request_id {
        event.push_str(&format!(", request id {id}"));
    }
    lines.push(("CloudTrail event", event));
    if let Some(log) = &f.log {
        lines.push(("Log file", log.file.path.clone()));
    }
    lines.push(("Finding id", f.finding_id.clone()));
    lines
        .into_iter()
        .map(|(label, value)| (label, printable(&value)))
        .collect()
}

/// What a responder does next, most urgent first.
fn next_steps(f: &Finding) -> Vec<String> {
    let snapshot = f.snapshot_id.as_deref().unwrap_or("SNAPSHOT_ID");
    let region = f
        .cloud
        .region
        .as_deref()
        .map(|r| format!(" --region {r}"))
        .unwrap_or_default();
    let remove = |who: &str| {
        format!(
            "aws ec2 modify-snapshot-attribute --snapshot-id {snapshot} --attribute \
             createVolumePermission --operation-type remove {who}{region}"
        )
    };
    let steps = if f.is_use() {
        vec![
            format!(
                "Treat this as data that has left: account {} now holds a copy or a volume of \
                 the snapshot. Find out what {snapshot} holds (the volume it was taken from).",
                f.user_id
            ),
            format!(
                "Stop further use: {}; check for a public share too (describe-snapshot-attribute).",
                remove(&format!("--user-ids {}", f.user_id))
            ),
            format!(
                "Find who shared it: the ModifySnapshotAttribute calls on {snapshot} in CloudTrail, \
                 and what that principal did around then."
            ),
            "If the account is a backup or disaster-recovery account of yours, add it to \
             TRUSTED_ACCOUNT_IDS."
                .to_owned(),
        ]
    } else if f.is_public() {
        vec![
            format!(
                "Make it private now, anyone can copy it: {}.",
                remove("--group-names all")
            ),
            "Find out what the snapshot holds, and whether the call was expected; if not, \
             review and rotate the credentials of the principal that made it."
                .to_owned(),
            format!(
                "Look for SharedSnapshotCopyInitiated and SharedSnapshotVolumeCreated on \
                 {snapshot}: they record a use by another account."
            ),
        ]
    } else {
        vec![
            format!(
                "Check whether account {} is expected (a backup or disaster-recovery account); \
                 if it is, add it to TRUSTED_ACCOUNT_IDS.",
                f.user_id
            ),
            format!(
                "If it is not, remove the permission: {}.",
                remove(&format!("--user-ids {}", f.user_id))
            ),
            "Find out whether the call was expected; if not, review and rotate the credentials \
             of the principal that made it."
                .to_owned(),
            format!(
                "Look for SharedSnapshotCopyInitiated and SharedSnapshotVolumeCreated on \
                 {snapshot}: they record a use by the other account."
            ),
        ]
    };
    steps.iter().map(|s| printable(s)).collect()
}

/// The plain-text body e-mail subscribers get: what happened, the facts, what to do next.
pub fn email_text(f: &Finding) -> String {
    let mut out = headline(f);
    out.push_str(".\n\nWhat happened\n");
    let facts = facts(f);
    let width = facts.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (label, value) in &facts {
        out.push_str(&format!("  {label:<width$}  {value}\n"));
    }
    out.push_str("\nWhat to do next\n");
    for (n, step) in next_steps(f).iter().enumerate() {
        out.push_str(&format!("  {}. {step}\n", n + 1));
    }
    out.push_str(
        "\nMITRE ATT&CK T1537 (Transfer Data to Cloud Account). Queue and function \
         subscribers of this topic receive the same finding as JSON.\n",
    );
    out
}

/// The finding as a custom notification of Amazon Q Developer in chat applications
/// (`version` 1.0, `source` custom, `client-markdown` text), so that a chat channel shows a
/// card: the subject as title, the facts as a list, the next steps, and the ids in metadata.
pub fn chatbot_message(f: &Finding) -> Value {
    // Record values are shown as code, so that markdown in them cannot format the card.
    let code = |s: &str| format!("`{}`", s.replace('`', "'"));
    // The headline in plain text, without the characters that open code, links or mentions.
    let plain: String = headline(f)
        .chars()
        .filter(|c| !matches!(c, '`' | '<' | '>' | '*' | '~'))
        .collect();
    let mut description = format!("{plain}.\n");
    for (label, value) in facts(f) {
        description.push_str(&format!("• *{label}*: {}\n", code(&value)));
    }
    let emoji = if f.is_use() || f.is_public() {
        ":rotating_light:"
    } else {
        ":warning:"
    };
    let mut related = Vec::new();
    if let Some(snapshot) = &f.snapshot_id {
        related.push(snapshot.clone());
    }
    related.push(f.user_id.clone());
    json!({
        "version": "1.0",
        "source": "custom",
        "id": f.finding_id,
        "content": {
            "textType": "client-markdown",
            "title": format!("{emoji} {}", subject(f)),
            "description": description,
            "nextSteps": next_steps(f),
            "keywords": [f.rule.severity, f.kind(), f.event.action, "T1537"],
        },
        "metadata": {
            "threadId": f.snapshot_id.clone().unwrap_or_else(|| f.finding_id.clone()),
            "summary": subject(f),
            "eventType": f.event.action,
            "relatedResources": related,
            "additionalContext": {
                "finding_id": f.finding_id,
                "rule_id": f.rule.id,
                "severity": f.rule.severity,
                "finding_kind": f.kind(),
            },
        },
    })
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
        assert!(attrs.contains(&("finding_kind", "String", "share".to_owned())));
        assert!(attrs.contains(&("severity", "String", "low".to_owned())));
        assert!(attrs.contains(&("risk_score", "Number", "21".to_owned())));
        assert!(attrs.contains(&("target_account", "String", "all".to_owned())));
        assert!(attrs.contains(&("public", "String", "true".to_owned())));
        assert!(attrs.contains(&("rule_id", "String", RULE_ID.to_owned())));
        assert!(attrs.contains(&("event_action", "String", rule::EVENT_NAME.to_owned())));
    }
}
