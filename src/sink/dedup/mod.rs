//! One alert per finding, whatever the path: a [`Sink`] in front of another that publishes a
//! finding only if its `finding_id` was not published before, by any path (EventBridge, a log
//! file in S3, a log group, a `scan --publish` back-fill), as an idempotency store
//! (a [`Ledger`]: the DynamoDB table `DEDUP_TABLE`) remembers.
//!
//! # The protocol: a reservation that expires, then a record of the publication
//!
//! For each finding:
//!
//! 1. **Reserve** the id with a conditional write that succeeds only if nobody holds it:
//!    `attribute_not_exists(finding_id) OR (state = reserved AND lease_until < now)`. The item
//!    says `state = reserved`, who reserved it (a random token) and until when (a short lease,
//!    [`DEFAULT_LEASE`]).
//! 2. **Publish** the reserved findings through the inner sink.
//! 3. On success, **record** `state = published` with a TTL ([`DEFAULT_RETENTION`]); on
//!    failure, **release** the reservation (its lease set to 0, only if it is still ours) so
//!    that the retry can take it at once.
//!
//! When the reservation fails, the item tells why: `published` is a duplicate, left out and
//! counted; `reserved` (another path holds an unexpired lease and has not published yet) is
//! *in flight*: that finding fails, which fails its unit of work, so that Lambda or SQS retries
//! it later, when the other path has either published it (the retry sees a duplicate) or let
//! its lease run out (the retry publishes it). It is never dropped on the word of a path that
//! might still fail.
//!
//! Why not record after publishing, with a conditional write? Then two paths at once both see
//! "not published", both publish, and only the record is single: the race sends two alerts.
//! Reserving first makes the race single. The price is the case of a path that dies between
//! reserving and recording (a timeout, a crash): nobody else publishes that finding until its
//! lease expires. Its own retry, or another path after the lease, publishes it then: late, but
//! not lost. Hence a short lease: longer than one publish takes, shorter than the spacing of
//! Lambda's retries.
//!
//! What is never traded away: a finding is left out only when the store says `published`.
//! When the store cannot be read or written (unreachable, throttled past the SDK's retries, a
//! missing table), the findings fail and so does the invocation: the retry asks again. After
//! a successful publish, a failed record is logged as an error and the lease lets the finding be
//! sent once more later: a duplicate, never a loss. So does a batch that the inner sink
//! delivered in part (it does not say which findings failed): every reservation is released, and
//! the retry may send the delivered ones again.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;

use super::ledger::{Claim, Ledger, Reservation};
use super::{PublishError, Published, Publishing, Sink};
use crate::epoch_ms;
use crate::finding::Finding;

/// How long a reservation keeps other paths off a finding: more than one publish takes (the SNS
/// client gives up on a call after 45 s), less than the minute before Lambda's first retry
/// plus the two before its second, so that a path that died holding it delays the finding by
/// one retry at most.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(90);
/// How long a published finding is remembered (the item's TTL): a back-fill of older logs may
/// alert again.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(400 * 24 * 3600);

/// Publishes through `inner` only the findings the [`Ledger`] has not seen published.
#[derive(Debug)]
pub struct Dedup<S, L> {
    inner: S,
    ledger: L,
    lease: Duration,
    retention: Duration,
}

impl<S, L> Dedup<S, L> {
    pub fn new(inner: S, ledger: L) -> Self {
        Dedup {
            inner,
            ledger,
            lease: DEFAULT_LEASE,
            retention: DEFAULT_RETENTION,
        }
    }

    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn ledger(&self) -> &L {
        &self.ledger
    }
}

impl<S: Sink, L: Ledger> Sink for Dedup<S, L> {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        Box::pin(self.deliver(findings))
    }
}

impl<S: Sink, L: Ledger> Dedup<S, L> {
    async fn deliver(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        let attempted = findings.len();
        let mut duplicates = 0;
        let mut failed = 0;
        let mut reasons = Reasons::default();
        // The same id twice in one batch (the same record twice in a file) is one finding.
        let mut seen = HashSet::new();
        let mut unique = Vec::with_capacity(findings.len());
        for finding in findings {
            if seen.insert(finding.finding_id.clone()) {
                unique.push(finding);
            } else {
                duplicates += 1;
            }
        }
        let findings = unique;

        let token = new_token();
        let now_ms = epoch_ms();
        let lease_until_ms = now_ms + self.lease.as_millis() as u64;
        let expires_at = (now_ms / 1000) + self.retention.as_secs();
        let claims = join_all(findings.iter().map(|f| {
            let r = Reservation {
                finding_id: &f.finding_id,
                token: &token,
                now_ms,
                lease_until_ms,
                expires_at,
            };
            async move { self.ledger.reserve(&r).await }
        }))
        .await;

        let mut reserved = Vec::with_capacity(findings.len());
        for (finding, claim) in findings.into_iter().zip(claims) {
            let id = finding.finding_id.as_str();
            match claim {
                Ok(Claim::Reserved) => reserved.push(finding),
                Ok(Claim::Published) => {
                    duplicates += 1;
                    tracing::info!(finding_id = id, "duplicate suppressed: published before");
                }
                Ok(Claim::InFlight) => {
                    failed += 1;
                    reasons.push(format!(
                        "finding {id} is being published by another path (reserved in {}, not \
                         yet published): failed so that a retry checks again",
                        self.ledger.name()
                    ));
                }
                Err(e) => {
                    failed += 1;
                    reasons.push(format!("idempotency store {}: {e}", self.ledger.name()));
                }
            }
        }
        if reserved.is_empty() {
            return result(attempted, failed, duplicates, Published::default(), reasons);
        }

        let ids: Vec<String> = reserved.iter().map(|f| f.finding_id.clone()).collect();
        match self.inner.publish(reserved).await {
            Ok(published) => {
                let confirmed =
                    join_all(ids.iter().map(|id| self.ledger.confirm(id, expires_at))).await;
                for (id, done) in ids.iter().zip(confirmed) {
                    if let Err(e) = done {
                        // Delivered: failing now would only send it again. The lease runs out
                        // and a later path may send it once more.
                        tracing::error!(
                            finding_id = id.as_str(),
                            "published, but not recorded in {}: {e}; it may be sent again",
                            self.ledger.name()
                        );
                    }
                }
                result(attempted, failed, duplicates, published, reasons)
            }
            Err(e) => {
                let released = join_all(ids.iter().map(|id| self.ledger.release(id, &token))).await;
                for (id, done) in ids.iter().zip(released) {
                    if let Err(e) = done {
                        tracing::warn!(
                            finding_id = id.as_str(),
                            "reservation not released in {} ({e}): it expires with its lease",
                            self.ledger.name()
                        );
                    }
                }
                let published = Published {
                    delivered: e.delivered(),
                    duplicates: e.duplicates,
                    suppressed: e.suppressed,
                    ..Published::default()
                };
                failed += e.failed;
                reasons.push(e.reason);
                result(attempted, failed, duplicates, published, reasons)
            }
        }
    }
}

fn result(
    attempted: usize,
    failed: usize,
    duplicates: usize,
    inner: Published,
    reasons: Reasons,
) -> Result<Published, PublishError> {
    let duplicates = duplicates + inner.duplicates;
    if failed == 0 {
        return Ok(Published {
            duplicates,
            ..inner
        });
    }
    Err(PublishError {
        attempted,
        failed,
        duplicates,
        suppressed: inner.suppressed,
        reason: reasons.join(),
        ..PublishError::default()
    })
}

/// Distinct reasons, the first few kept.
#[derive(Default)]
struct Reasons(Vec<String>, usize);

impl Reasons {
    fn push(&mut self, reason: String) {
        if !self.0.contains(&reason) {
            if self.0.len() < 3 {
                self.0.push(reason);
            } else {
                self.1 += 1;
            }
        }
    }

    fn join(self) -> String {
        let mut text = self.0.join("; ");
        if self.1 > 0 {
            text.push_str(&format!("; and {} more", self.1));
        }
        text
    }
}

/// A token no other reservation uses: 128 random bits from the standard library's per-process
/// random hasher keys, and a counter.
fn new_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let word = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(salt);
        h.finish()
    };
    format!("{:016x}{:016x}", word(1), word(epoch_ms()))
}

#[cfg(test)]
mod tests;
