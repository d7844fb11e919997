//! Remediation as a layer (`REMEDIATE`): in front of the outputs, behind [`super::Org`] (so
//! that each target's membership of the organization is known), it removes the share each
//! finding reports, as [`Remediator`] allows, and writes what it did into the finding's
//! `remediation` before passing it on. A failed remediation never costs the finding: it is
//! published with the failure, and counted ([`Published::remediation_failures`]).

use std::sync::Arc;

use super::{PublishError, Published, Publishing, Sink};
use crate::finding::{Finding, Outcome};
use crate::remediate::Remediator;

pub struct Remediate<S> {
    inner: S,
    remediator: Arc<Remediator>,
}

impl<S> Remediate<S> {
    pub fn new(inner: S, remediator: Arc<Remediator>) -> Self {
        Remediate { inner, remediator }
    }
}

impl<S: Sink> Sink for Remediate<S> {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        Box::pin(self.deliver(findings))
    }
}

impl<S: Sink> Remediate<S> {
    async fn deliver(&self, mut findings: Vec<Finding>) -> Result<Published, PublishError> {
        let (mut remediated, mut failures) = (0, 0);
        // One at a time: two findings of one call may name the same resource, and each reads
        // the permission the previous one left.
        for finding in &mut findings {
            let Some(done) = self.remediator.remediate(finding).await else {
                continue;
            };
            remediated += usize::from(done.outcome == Outcome::Done);
            failures += usize::from(done.outcome == Outcome::Failed);
            finding.remediation = Some(done);
        }
        match self.inner.publish(findings).await {
            Ok(p) => Ok(Published {
                remediated: p.remediated + remediated,
                remediation_failures: p.remediation_failures + failures,
                ..p
            }),
            Err(e) => Err(PublishError {
                remediated: e.remediated + remediated,
                remediation_failures: e.remediation_failures + failures,
                ..e
            }),
        }
    }
}
