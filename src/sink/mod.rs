//! Where findings go: an SNS topic ([`sns`]), stdout as JSON Lines, or both.
//!
//! A sink either delivers a finding or says it did not: [`PublishError`] counts the findings
//! that were not delivered, and the caller turns that into a failed invocation so that Lambda,
//! EventBridge or SQS delivers the event again. Finding ids are deterministic, so the copies a
//! retry sends can be dropped downstream (a FIFO topic drops them itself), or here, before
//! they are sent, by [`Dedup`] and its idempotency store (`DEDUP_TABLE`).
//!
//! Besides delivering, a sink may leave a finding out on purpose: a duplicate of one already
//! published ([`Dedup`]), or a share inside the organization when those are suppressed
//! ([`Org`]). [`Published`] counts each, so that nothing disappears uncounted.

use std::future::Future;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use crate::finding::Finding;
use crate::org::Organization;

pub mod dedup;
pub mod ledger;
pub mod message;
pub mod org;
pub mod sns;
pub use dedup::Dedup;
pub use ledger::{DynamoLedger, Ledger, MemoryLedger};
pub use org::Org;
pub use sns::{SnsSink, BATCH_ENTRIES};

/// A destination for findings.
pub trait Sink: Send + Sync {
    /// Delivers `findings`; returns what became of them, or an error counting those that were
    /// not delivered.
    fn publish(
        &self,
        findings: Vec<Finding>,
    ) -> impl Future<Output = Result<Published, PublishError>> + Send;
}

/// What became of the findings handed to a sink that all went where they should: each was
/// delivered, or left out on purpose and counted here.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub delivered: usize,
    /// Already published before (by this path or another): not sent again.
    pub duplicates: usize,
    /// Shares with an account of the organization, left out by `SUPPRESS_ORGANIZATION_SHARES`.
    pub suppressed: usize,
}

impl Published {
    /// All `n` findings delivered.
    pub fn all(n: usize) -> Self {
        Published {
            delivered: n,
            ..Published::default()
        }
    }
}

/// Some findings were not delivered. `attempted` counts every finding handed to the sink,
/// `duplicates` and `suppressed` those left out on purpose (as in [`Published`]); the rest,
/// `attempted - failed - duplicates - suppressed`, were delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{failed} of {attempted} findings could not be published: {reason}")]
pub struct PublishError {
    pub attempted: usize,
    pub failed: usize,
    pub duplicates: usize,
    pub suppressed: usize,
    pub reason: String,
}

impl PublishError {
    /// How many findings were delivered all the same.
    pub fn delivered(&self) -> usize {
        self.attempted
            .saturating_sub(self.failed + self.duplicates + self.suppressed)
    }
}

/// Writes each finding as one line of JSON to stdout.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout;

impl Sink for Stdout {
    async fn publish(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        let attempted = findings.len();
        let mut out = io::stdout().lock();
        let written = findings
            .iter()
            .try_for_each(|f| writeln!(out, "{}", f.to_json()))
            .and_then(|()| out.flush());
        written
            .map(|()| Published::all(attempted))
            .map_err(|e| PublishError {
                attempted,
                failed: attempted,
                reason: format!("stdout: {e}"),
                ..PublishError::default()
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
    async fn publish(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        let n = findings.len();
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(findings);
        Ok(Published::all(n))
    }
}

/// Publishes to two sinks (stdout and SNS for `scan --publish`). The second one's counts are
/// the result: stdout shows every finding, the topic may leave duplicates out.
#[derive(Debug, Default)]
pub struct Tee<A, B>(pub A, pub B);

impl<A: Sink, B: Sink> Sink for Tee<A, B> {
    async fn publish(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        let attempted = findings.len();
        let first = self.0.publish(findings.clone()).await;
        let second = self.1.publish(findings).await;
        match (first, second) {
            (Ok(_), Ok(p)) => Ok(p),
            (Ok(_), Err(e)) => Err(e),
            (Err(e), Ok(p)) => Err(PublishError {
                duplicates: p.duplicates,
                suppressed: p.suppressed,
                ..e
            }),
            (Err(a), Err(b)) => Err(PublishError {
                attempted,
                failed: a.failed.max(b.failed),
                reason: format!("{}; {}", a.reason, b.reason),
                ..b
            }),
        }
    }
}

/// The findings topic: as it is, or behind the idempotency store (`DEDUP_TABLE`).
#[derive(Debug)]
pub enum Topic {
    Sns(SnsSink),
    Deduplicated(Dedup<SnsSink, DynamoLedger>),
}

impl Topic {
    /// `sns` behind `ledger`, if there is one.
    pub fn new(sns: SnsSink, ledger: Option<DynamoLedger>) -> Self {
        match ledger {
            Some(ledger) => Topic::Deduplicated(Dedup::new(sns, ledger)),
            None => Topic::Sns(sns),
        }
    }
}

impl Sink for Topic {
    async fn publish(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        match self {
            Topic::Sns(s) => s.publish(findings).await,
            Topic::Deduplicated(s) => s.publish(findings).await,
        }
    }
}

/// Where findings go: the topic when there is one, stdout when there is none, or both
/// (`scan --publish`).
#[derive(Debug)]
pub enum Route {
    Stdout(Stdout),
    Topic(Topic),
    Both(Tee<Stdout, Topic>),
}

impl Sink for Route {
    async fn publish(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        match self {
            Route::Stdout(s) => s.publish(findings).await,
            Route::Topic(s) => s.publish(findings).await,
            Route::Both(s) => s.publish(findings).await,
        }
    }
}

/// The sink a configuration asks for, chosen at run time: the [`Route`], with the
/// organization's view of each target ([`Org`]) in front.
#[derive(Debug)]
pub struct Output(Org<Route>);

impl Output {
    /// `topic`: the topic, if one is configured; `echo`: also print to stdout.
    pub fn new(topic: Option<Topic>, echo: bool) -> Self {
        let route = match (topic, echo) {
            (Some(topic), true) => Route::Both(Tee(Stdout, topic)),
            (Some(topic), false) => Route::Topic(topic),
            (None, _) => Route::Stdout(Stdout),
        };
        Output(Org::new(route, None, false))
    }

    /// Marks each target as a member of `organization` or not and, with `suppress`, leaves
    /// out the shares with its accounts.
    pub fn with_organization(
        self,
        organization: Option<Arc<Organization>>,
        suppress: bool,
    ) -> Self {
        Output(Org::new(self.0.into_inner(), organization, suppress))
    }
}

impl Sink for Output {
    async fn publish(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        // Boxed: the nested futures of every stage are otherwise one type too deep for the
        // compiler's layout queries in the callers' async blocks.
        Box::pin(self.0.publish(findings)).await
    }
}
