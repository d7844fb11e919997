//! Joins the stages: a record, a byte stream or a stored object in, findings out to a
//! [`Sink`], and a [`Tally`] of what happened. The Lambda function and `scan` both work
//! through here, so an object is skipped, opened and read the same way on either path.
//!
//! Reading is synchronous (inflate, split, parse) and runs on a blocking thread, while the
//! async side publishes findings as they arrive through a small bounded channel. Memory stays
//! flat however many findings an object holds, and the store keeps streaming the next bytes of
//! an object while the previous ones are inflated.

use std::io::Read;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::cloudtrail::Record;
use crate::config::Settings;
use crate::finding::Finding;
use crate::reader::{self, Progress, ReadError, ScanOptions, ScanReport};
use crate::rule;
use crate::sink::{Sink, BATCH_ENTRIES};
use crate::source::{Failure, ObjectRef, ObjectStore, Opened};
use crate::tally::ErrorKind::{NotCloudTrail, Permanent, Transient};
use crate::tally::Tally;

/// A sink, an object store (when a trigger or an input names objects) and the rule's settings.
#[derive(Debug)]
pub struct Pipeline<S, T> {
    sink: S,
    store: Option<T>,
    settings: Arc<Settings>,
}

impl<S: Sink, T: ObjectStore> Pipeline<S, T> {
    pub fn new(sink: S, store: Option<T>, settings: Settings) -> Self {
        Pipeline {
            sink,
            store,
            settings: Arc::new(settings),
        }
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    pub fn store(&self) -> Option<&T> {
        self.store.as_ref()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Evaluates one record a trigger handed over (from an EventBridge event, a log group
    /// payload, a direct invocation) and publishes its findings; a record a rule cannot read
    /// is counted as an input error naming it.
    pub async fn record(&self, record: &Value, envelope_account: Option<&str>) -> Tally {
        let mut tally = Tally {
            records: 1,
            ..Tally::default()
        };
        // Triggers hand over JSON objects only; anything else holds no record.
        let Some(view) = Record::new(record) else {
            return tally;
        };
        let detected = rule::evaluate_record(&view, envelope_account, &self.settings.trusted, None);
        for problem in detected.problems {
            let id = view.event_id.unwrap_or("none");
            tally.input_failed(Permanent, format!("record (eventID {id}): {problem}"));
        }
        let findings = detected.findings;
        tally.findings = findings.len() as u64;
        if !findings.is_empty() {
            self.deliver(findings, &mut tally).await;
        }
        tally
    }

    /// Skips, opens and reads one stored object, publishing its findings as they are found.
    /// `progress`, if given, is updated as the reading goes.
    pub async fn object(&self, object: &ObjectRef, progress: Option<Arc<Progress>>) -> Tally {
        match self.open(object).await {
            Ok((opened, name)) => {
                let url = opened.object.url();
                self.stream(opened.body, &name, url, progress).await
            }
            Err(tally) => tally,
        }
    }

    /// Reads one stored object like [`Pipeline::object`], but hands its findings back instead
    /// of publishing them: a caller that reads many objects at once publishes them in key
    /// order ([`Pipeline::publish`]), so that the output does not depend on timing.
    pub async fn object_findings(&self, object: &ObjectRef) -> (Vec<Finding>, Tally) {
        let (opened, name) = match self.open(object).await {
            Ok(opened) => opened,
            Err(tally) => return (Vec::new(), tally),
        };
        let (mut rx, reading) = self.spawn_read(opened.body, opened.object.url(), None);
        let mut findings = Vec::new();
        while let Some(finding) = rx.recv().await {
            findings.push(finding);
        }
        let mut tally = Tally::default();
        read_tally(reading.await, &name, &mut tally);
        (findings, tally)
    }

    /// Publishes findings found elsewhere (see [`Pipeline::object_findings`]).
    pub async fn publish(&self, findings: Vec<Finding>) -> Tally {
        let mut tally = Tally::default();
        for batch in findings.chunks(BATCH_ENTRIES) {
            self.deliver(batch.to_vec(), &mut tally).await;
        }
        tally
    }

    /// Skips or opens an object: the body and its name, or the tally of why not.
    async fn open(&self, object: &ObjectRef) -> Result<(Opened, String), Tally> {
        let mut tally = Tally::default();
        if let Some(reason) = object.skip_reason_in(self.settings.key_layout) {
            tracing::info!(object = %object, "skipped: {reason}");
            tally.skipped = 1;
            return Err(tally);
        }
        tally.objects = 1;
        let Some(store) = &self.store else {
            tally.input_failed(Permanent, format!("{object}: no object store configured"));
            return Err(tally);
        };
        match store.open(object).await {
            Ok(opened) => {
                let name = opened.object.to_string();
                Ok((opened, name))
            }
            Err(e) => {
                let kind = match e.failure {
                    Failure::Transient => Transient,
                    _ => Permanent,
                };
                tally.input_failed(kind, e.to_string());
                Err(tally)
            }
        }
    }

    /// Reads `input` to the end on a blocking thread, publishing findings as they are found.
    /// `name` names the input in errors, `origin` in findings (`log.file.path`).
    pub async fn stream<R: Read + Send + 'static>(
        &self,
        input: R,
        name: &str,
        origin: String,
        progress: Option<Arc<Progress>>,
    ) -> Tally {
        let (mut rx, reading) = self.spawn_read(input, origin, progress);
        let mut tally = Tally::default();
        let mut batch = Vec::with_capacity(BATCH_ENTRIES);
        while rx.recv_many(&mut batch, BATCH_ENTRIES).await > 0 {
            self.deliver(std::mem::take(&mut batch), &mut tally).await;
        }
        read_tally(reading.await, name, &mut tally);
        if tally.records == 0 && tally.is_clean() {
            tracing::info!(input = name, "no records in the input");
        }
        tally
    }

    /// Starts reading `input` on a blocking thread; findings arrive on the channel as they are
    /// found, the reader's report when the thread ends.
    fn spawn_read<R: Read + Send + 'static>(
        &self,
        input: R,
        origin: String,
        progress: Option<Arc<Progress>>,
    ) -> (mpsc::Receiver<Finding>, tokio::task::JoinHandle<ScanReport>) {
        let (tx, rx) = mpsc::channel::<Finding>(4 * BATCH_ENTRIES);
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
        (rx, reading)
    }

    async fn deliver(&self, findings: Vec<Finding>, tally: &mut Tally) {
        match self.sink.publish(findings).await {
            Ok(p) => {
                tally.published += p.delivered as u64;
                tally.duplicates += p.duplicates as u64;
                tally.suppressed += p.suppressed as u64;
                tally.remediated += p.remediated as u64;
                tally.remediation_failures += p.remediation_failures as u64;
            }
            Err(e) => {
                tally.published += e.delivered() as u64;
                tally.duplicates += e.duplicates as u64;
                tally.suppressed += e.suppressed as u64;
                tally.remediated += e.remediated as u64;
                tally.remediation_failures += e.remediation_failures as u64;
                tally.not_delivered(e.failed as u64, e.to_string());
            }
        }
    }
}

/// The message a panic carried, if it was text.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Adds what the reader reported about one input to `tally`.
fn read_tally(reading: Result<ScanReport, tokio::task::JoinError>, name: &str, tally: &mut Tally) {
    let report = reading.unwrap_or_else(|e| ScanReport {
        fatal: Some(ReadError::Panic(match e.try_into_panic() {
            Ok(panic) => panic_message(&*panic),
            Err(e) => e.to_string(),
        })),
        ..ScanReport::default()
    });
    tally.objects = 1;
    tally.bytes = report.bytes;
    tally.records = report.records;
    tally.findings = report.findings;
    tally.not_cloudtrail = report.not_cloudtrail;
    if let Some(error) = report.error_summary() {
        // A connection cut mid-object may not happen again; a corrupt file will, and a file
        // whose records are all something else is not CloudTrail.
        let kind = if matches!(report.fatal, Some(ReadError::Io { .. })) {
            Transient
        } else if report.fatal.is_none() && report.not_cloudtrail == report.error_count {
            NotCloudTrail
        } else {
            Permanent
        };
        tally.input_failed(kind, format!("{name}: {error}"));
    }
}
