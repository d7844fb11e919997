//! Where findings go: an SNS topic ([`sns`]), stdout as JSON Lines, or both.
//!
//! A sink either delivers a finding or says it did not: [`PublishError`] counts the findings
//! that were not delivered, and the caller turns that into a failed invocation so that Lambda,
//! EventBridge or SQS delivers the event again. Finding ids are deterministic, so the copies a
//! retry sends can be dropped downstream (a FIFO topic drops them itself).

use std::future::Future;
use std::io::{self, Write};
use std::sync::Mutex;

use crate::finding::Finding;

pub mod sns;
pub use sns::{SnsSink, BATCH_ENTRIES};

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

/// The sink a configuration asks for, chosen at run time: the SNS topic when there is one,
/// stdout when there is none, or both (`scan --publish`).
#[derive(Debug)]
pub enum Output {
    Stdout(Stdout),
    Sns(SnsSink),
    Both(Tee<Stdout, SnsSink>),
}

impl Output {
    /// `topic`: the SNS sink, if a topic is configured; `echo`: also print to stdout.
    pub fn new(topic: Option<SnsSink>, echo: bool) -> Self {
        match (topic, echo) {
            (Some(sns), true) => Output::Both(Tee(Stdout, sns)),
            (Some(sns), false) => Output::Sns(sns),
            (None, _) => Output::Stdout(Stdout),
        }
    }
}

impl Sink for Output {
    async fn publish(&self, findings: Vec<Finding>) -> Result<usize, PublishError> {
        match self {
            Output::Stdout(s) => s.publish(findings).await,
            Output::Sns(s) => s.publish(findings).await,
            Output::Both(s) => s.publish(findings).await,
        }
    }
}
