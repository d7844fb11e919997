//! Where findings go: an SNS topic, stdout as JSON Lines, or both.
//!
//! A sink either delivers a finding or says it did not: [`PublishError`] counts the findings
//! that were not delivered, and the caller turns that into a failed invocation so that Lambda,
//! EventBridge or SQS delivers the event again. Finding ids are deterministic, so the copies a
//! retry sends can be dropped downstream (a FIFO topic drops them itself).

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Write};
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

use crate::finding::Finding;

/// A destination for findings.
pub trait Sink: Send + Sync {
    /// Delivers `findings`; returns how many were delivered, or an error counting those that
    /// were not.
    fn publish(
        &self,
        findings: Vec<Finding>,
    ) -> impl Future<Output = Result<usize, PublishError>> + Send;
}

/// Some findings were not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{failed} of {attempted} findings could not be published: {reason}")]
pub struct PublishError {
    pub attempted: usize,
    pub failed: usize,
    pub reason: String,
}

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

    /// Sends one batch, retrying the entries that failed on SNS's side. Returns how many
    /// entries were not delivered, why, and whether the call itself failed (after the SDK's
    /// retries), in which case the next batches would most likely fail the same way.
    async fn send(
        &self,
        mut pending: Vec<PublishBatchRequestEntry>,
    ) -> (usize, Option<String>, bool) {
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
                    let reason = crate::aws::describe(&e);
                    return (rejected + pending.len(), Some(reason), true);
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
                return (rejected, reason, false);
            }
            tracing::warn!(
                entries = retry.len(),
                reason = reason.as_deref(),
                "PublishBatch entries failed on the service side; retrying them"
            );
            pending = retry;
        }
        (rejected + pending.len(), reason, false)
    }
}

impl Sink for SnsSink {
    async fn publish(&self, findings: Vec<Finding>) -> Result<usize, PublishError> {
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
                    let (f, r, call_failed) = self.send(std::mem::take(&mut batch)).await;
                    failed += f;
                    reason = r.or(reason);
                    // Once a whole call has failed past the SDK's retries (the topic is
                    // unreachable, throttled or gone), the rest is counted undelivered at once
                    // rather than spending the function's time on calls that would fail too:
                    // the invocation fails either way, and its retry delivers everything.
                    gave_up = call_failed;
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
                let (f, r, _) = self.send(batch).await;
                failed += f;
                reason = r.or(reason);
            }
        }
        if failed == 0 {
            return Ok(attempted);
        }
        Err(PublishError {
            attempted,
            failed,
            reason: format!(
                "topic {}: {}",
                self.topic_arn,
                reason.unwrap_or_else(|| "unknown error".to_owned())
            ),
        })
    }
}

/// The `PublishBatch` entry of one finding: the finding as the message, a short subject, the
/// message attributes that filter policies use, and on a FIFO topic the group (the snapshot)
/// and deduplication (the finding id) ids.
pub fn batch_entry(id: usize, f: &Finding, fifo: bool) -> Result<PublishBatchRequestEntry, String> {
    let mut attributes = HashMap::new();
    for (name, data_type, value) in f.attributes() {
        let value = MessageAttributeValue::builder()
            .data_type(data_type)
            .string_value(value)
            .build()
            .map_err(|e| e.to_string())?;
        attributes.insert(name.to_owned(), value);
    }
    let mut entry = PublishBatchRequestEntry::builder()
        .id(id.to_string())
        .message(f.to_json())
        .subject(f.subject())
        .set_message_attributes(Some(attributes));
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

/// Writes each finding as one line of JSON to stdout.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout;

impl Sink for Stdout {
    async fn publish(&self, findings: Vec<Finding>) -> Result<usize, PublishError> {
        let attempted = findings.len();
        let mut out = io::stdout().lock();
        let written = findings
            .iter()
            .try_for_each(|f| writeln!(out, "{}", f.to_json()))
            .and_then(|()| out.flush());
        written.map(|()| attempted).map_err(|e| PublishError {
            attempted,
            failed: attempted,
            reason: format!("stdout: {e}"),
        })
    }
}

/// Keeps findings in memory: for embedding the detector, and for tests of the stages before
/// the sink.
#[derive(Debug, Default)]
pub struct Memory(Mutex<Vec<Finding>>);

impl Memory {
    pub fn take(&self) -> Vec<Finding> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Sink for Memory {
    async fn publish(&self, findings: Vec<Finding>) -> Result<usize, PublishError> {
        let n = findings.len();
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(findings);
        Ok(n)
    }
}

/// Publishes to two sinks (stdout and SNS for `scan --publish`).
#[derive(Debug, Default)]
pub struct Tee<A, B>(pub A, pub B);

impl<A: Sink, B: Sink> Sink for Tee<A, B> {
    async fn publish(&self, findings: Vec<Finding>) -> Result<usize, PublishError> {
        let first = self.0.publish(findings.clone()).await;
        let second = self.1.publish(findings).await;
        match (first, second) {
            (Ok(_), Ok(n)) => Ok(n),
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
            (Err(a), Err(b)) => Err(PublishError {
                attempted: a.attempted,
                failed: a.failed.max(b.failed),
                reason: format!("{}; {}", a.reason, b.reason),
            }),
        }
    }
}
