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
use crate::source::{ObjectRef, ObjectStore};
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

    /// Evaluates one record (from an EventBridge event) and publishes its findings.
    pub async fn record(&self, record: &Value, envelope_account: Option<&str>) -> Tally {
        let mut tally = Tally {
            records: 1,
            ..Tally::default()
        };
        // Triggers hand over JSON objects only; anything else holds no record.
        let Some(view) = Record::new(record) else {
            return tally;
        };
        let findings = rule::detect(&view, envelope_account, &self.settings.trusted, None);
        tally.findings = findings.len() as u64;
        if !findings.is_empty() {
            self.deliver(findings, &mut tally).await;
        }
        tally
    }

    /// Skips, opens and reads one stored object. `progress`, if given, is updated as the
    /// reading goes.
    pub async fn object(&self, object: &ObjectRef, progress: Option<Arc<Progress>>) -> Tally {
        let mut tally = Tally::default();
        if let Some(reason) = object.skip_reason() {
            tracing::info!(object = %object, "skipped: {reason}");
            tally.skipped = 1;
            return tally;
        }
        tally.objects = 1;
        let Some(store) = &self.store else {
            tally.input_errors = 1;
            tally.error(format!("{object}: no object store configured"));
            return tally;
        };
        let opened = match store.open(object).await {
            Ok(opened) => opened,
            Err(e) => {
                tally.input_errors = 1;
                tally.error(e.to_string());
                return tally;
            }
        };
        let name = opened.object.to_string();
        let mut read = self
            .stream(opened.body, &name, opened.object.url(), progress)
            .await;
        if read.records == 0 && read.is_clean() {
            tracing::info!(object = %name, "no records in the object");
        }
        read.objects = 0;
        tally.add(read);
        tally
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
        let mut tally = Tally {
            objects: 1,
            ..Tally::default()
        };
        let mut batch = Vec::with_capacity(BATCH_ENTRIES);
        while rx.recv_many(&mut batch, BATCH_ENTRIES).await > 0 {
            self.deliver(std::mem::take(&mut batch), &mut tally).await;
        }
        let report = reading.await.unwrap_or_else(|e| ScanReport {
            fatal: Some(ReadError::Panic(match e.try_into_panic() {
                Ok(panic) => panic_message(&*panic),
                Err(e) => e.to_string(),
            })),
            ..ScanReport::default()
        });
        tally.bytes = report.bytes;
        tally.records = report.records;
        tally.findings = report.findings;
        tally.not_cloudtrail = report.not_cloudtrail;
        if let Some(error) = report.error_summary() {
            tally.input_errors = 1;
            tally.error(format!("{name}: {error}"));
        }
        tally
    }

    async fn deliver(&self, findings: Vec<Finding>, tally: &mut Tally) {
        match self.sink.publish(findings).await {
            Ok(p) => {
                tally.published += p.delivered as u64;
                tally.duplicates += p.duplicates as u64;
                tally.suppressed += p.suppressed as u64;
            }
            Err(e) => {
                tally.published += e.delivered() as u64;
                tally.duplicates += e.duplicates as u64;
                tally.suppressed += e.suppressed as u64;
                tally.undelivered += e.failed as u64;
                tally.error(e.to_string());
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
