//! Joins the stages: a record or a byte stream in, findings out to a [`Sink`].
//!
//! Reading is synchronous (inflate, split, parse) and runs on a blocking thread, while the
//! async side publishes findings as they arrive through a small bounded channel. Memory stays
//! flat however many findings an object holds, and the SDK keeps streaming the next bytes of an
//! S3 object while the previous ones are inflated.

use std::io::Read;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::cloudtrail::Record;
use crate::finding::Finding;
use crate::reader::{self, Limits, Progress, ReadError, ScanOptions, ScanReport};
use crate::rule::{self, TrustedAccounts};
use crate::sink::{PublishError, Sink, BATCH_ENTRIES};

/// The rule's settings, shared by every task.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub trusted: TrustedAccounts,
    pub limits: Limits,
}

/// What became of one record or stream.
#[derive(Debug, Default)]
pub struct Outcome {
    pub scan: ScanReport,
    pub published: usize,
    pub publish_error: Option<PublishError>,
}

impl Outcome {
    /// Whether everything was read and every finding delivered.
    pub fn is_clean(&self) -> bool {
        self.scan.is_clean() && self.publish_error.is_none()
    }

    /// Findings that were found but not delivered.
    pub fn undelivered(&self) -> usize {
        self.publish_error.as_ref().map_or(0, |e| e.failed)
    }

    /// Everything that went wrong, in one line.
    pub fn error_summary(&self) -> Option<String> {
        let parts: Vec<String> = self
            .publish_error
            .iter()
            .map(ToString::to_string)
            .chain(self.scan.error_summary())
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// A sink and the rule's settings.
#[derive(Debug)]
pub struct Pipeline<S> {
    sink: S,
    settings: Arc<Settings>,
}

impl<S: Sink> Pipeline<S> {
    pub fn new(sink: S, settings: Settings) -> Self {
        Pipeline {
            sink,
            settings: Arc::new(settings),
        }
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Evaluates one record (from an EventBridge event) and publishes its findings.
    pub async fn record(&self, record: &Value, envelope_account: Option<&str>) -> Outcome {
        let mut outcome = Outcome::default();
        outcome.scan.records = 1;
        // Triggers hand over JSON objects only; anything else holds no record.
        let Some(view) = Record::new(record) else {
            return outcome;
        };
        let findings: Vec<Finding> =
            rule::evaluate(&view, envelope_account, &self.settings.trusted)
                .map(|share| {
                    share
                        .targets
                        .iter()
                        .map(|t| Finding::new(&view, &share, t, None))
                        .collect()
                })
                .unwrap_or_default();
        outcome.scan.candidates = u64::from(view.event_name == Some(rule::EVENT_NAME));
        outcome.scan.findings = findings.len() as u64;
        if !findings.is_empty() {
            self.deliver(findings, &mut outcome).await;
        }
        outcome
    }

    /// Reads `input` to the end on a blocking thread, publishing findings as they are found.
    /// `origin` names the input in findings and errors; `progress`, if given, is updated as
    /// the reading goes.
    pub async fn stream<R: Read + Send + 'static>(
        &self,
        input: R,
        origin: String,
        progress: Option<Arc<Progress>>,
    ) -> Outcome {
        let (tx, mut rx) = mpsc::channel::<Finding>(4 * BATCH_ENTRIES);
        let settings = Arc::clone(&self.settings);
        let reading = tokio::task::spawn_blocking(move || {
            let opts = ScanOptions {
                trusted: &settings.trusted,
                limits: settings.limits,
                origin: Some(&origin),
                progress: progress.as_deref(),
            };
            reader::scan(input, &opts, &mut |finding| {
                // The receiver lives until this thread ends; a send cannot fail before.
                let _ = tx.blocking_send(finding);
            })
        });
        let mut outcome = Outcome::default();
        let mut batch = Vec::with_capacity(BATCH_ENTRIES);
        while rx.recv_many(&mut batch, BATCH_ENTRIES).await > 0 {
            self.deliver(std::mem::take(&mut batch), &mut outcome).await;
        }
        outcome.scan = reading.await.unwrap_or_else(|e| ScanReport {
            fatal: Some(ReadError::Io {
                offset: 0,
                source: std::io::Error::other(format!("the reader thread failed: {e}")),
            }),
            ..ScanReport::default()
        });
        outcome
    }

    async fn deliver(&self, findings: Vec<Finding>, outcome: &mut Outcome) {
        match self.sink.publish(findings).await {
            Ok(n) => outcome.published += n,
            Err(e) => {
                outcome.published += e.attempted - e.failed;
                outcome.publish_error = Some(match outcome.publish_error.take() {
                    None => e,
                    Some(prev) => PublishError {
                        attempted: prev.attempted + e.attempted,
                        failed: prev.failed + e.failed,
                        reason: e.reason,
                    },
                });
            }
        }
    }
}
