//! Where findings go, composed from a list: the outputs ([`sns`], [`securityhub`], stdout)
//! behind the layers that cover all of them ([`Dedup`]: one alert per finding whatever the
//! path; [`Org`]: the organization's view of each target). [`build`] wires them from the
//! configuration; a new output is a new module here and one line there.
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
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::finding::Finding;

mod build;
pub mod dedup;
mod fanout;
pub mod ledger;
pub mod message;
pub mod org;
pub mod recall;
pub mod securityhub;
mod select;
pub mod sns;
mod stdout;
pub mod terminal;
pub use build::{build, recall, OrganizationAccounts, Outputs};
pub use dedup::Dedup;
pub use fanout::{Echo, Fanout};
pub use ledger::{DynamoLedger, Ledger, MemoryLedger};
pub use org::Org;
pub use recall::{Opened, Recall};
pub use securityhub::SecurityHubSink;
pub use select::Select;
pub use sns::{SnsSink, BATCH_ENTRIES};
pub use stdout::{Lines, Stdout};

/// What a publish returns, boxed so that sinks can be kept in a list (`Box<dyn Sink>`).
pub type Publishing<'a> =
    Pin<Box<dyn Future<Output = Result<Published, PublishError>> + Send + 'a>>;

/// A destination for findings.
pub trait Sink: Send + Sync {
    /// Delivers `findings`; returns what became of them, or an error counting those that were
    /// not delivered.
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_>;
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        (**self).publish(findings)
    }
}

impl<S: Sink + ?Sized> Sink for Arc<S> {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        (**self).publish(findings)
    }
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

    /// All `attempted` findings failed, for `reason`.
    pub fn all(attempted: usize, reason: String) -> Self {
        PublishError {
            attempted,
            failed: attempted,
            reason,
            ..PublishError::default()
        }
    }
}

/// Publishes `kept` through `inner` and adds `suppressed`, the findings a layer left out on
/// purpose before it, to what the inner sink says.
async fn publish_rest<S: Sink + ?Sized>(
    inner: &S,
    kept: Vec<Finding>,
    suppressed: usize,
) -> Result<Published, PublishError> {
    if kept.is_empty() {
        return Ok(Published {
            suppressed,
            ..Published::default()
        });
    }
    match inner.publish(kept).await {
        Ok(p) => Ok(Published {
            suppressed: p.suppressed + suppressed,
            ..p
        }),
        Err(e) => Err(PublishError {
            attempted: e.attempted + suppressed,
            suppressed: e.suppressed + suppressed,
            ..e
        }),
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
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        let n = findings.len();
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(findings);
        Box::pin(async move { Ok(Published::all(n)) })
    }
}
