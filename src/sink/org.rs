//! Organization-aware targets: a [`Sink`] in front of another that says, in each finding,
//! whether the target account belongs to the organization (`target.organization_member`), and,
//! with `SUPPRESS_ORGANIZATION_SHARES`, leaves out the shares with an account of the
//! organization (counted and logged). A public share is never left out, and a share whose
//! target's membership is unknown is published.

use std::sync::Arc;

use super::{PublishError, Published, Publishing, Sink};
use crate::finding::{Finding, TargetInfo};
use crate::org::Organization;

#[derive(Debug)]
pub struct Org<S> {
    inner: S,
    organization: Option<Arc<Organization>>,
    /// The organization's id (`ORGANIZATION_ID`), when configured.
    id: Option<String>,
    suppress: bool,
}

impl<S> Org<S> {
    /// `organization`: none, and findings pass unchanged. `suppress`: leave out the shares
    /// with a member account.
    pub fn new(inner: S, organization: Option<Arc<Organization>>, suppress: bool) -> Self {
        Org {
            inner,
            organization,
            id: None,
            suppress,
        }
    }

    /// Knows the organization's id (`o-...`), so that a share with it or one of its OUs is
    /// recognised as one's own.
    pub fn with_id(mut self, id: Option<String>) -> Self {
        self.id = id;
        self
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Sink> Sink for Org<S> {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        Box::pin(self.deliver(findings))
    }
}

impl<S: Sink> Org<S> {
    async fn deliver(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        if self.organization.is_none() && self.id.is_none() {
            return self.inner.publish(findings).await;
        }
        let (accounts, own_id) = match &self.organization {
            Some(o) => (o.accounts().await, self.id.clone().or(o.id().await)),
            None => (None, self.id.clone()),
        };
        let mut suppressed = 0;
        let mut kept = Vec::with_capacity(findings.len());
        for mut finding in findings {
            // An organization or OU of one's own is not foreign: no finding, as a share with
            // the owner itself is none.
            if let Some(arn_id) = crate::org::id_in_arn(&finding.user_id) {
                let ours = own_id.as_deref().map(|own| own == arn_id);
                finding.target = ours.map(|ours| TargetInfo {
                    organization_member: Some(ours),
                });
                if ours == Some(true) {
                    suppressed += 1;
                    tracing::info!(
                        finding_id = finding.finding_id.as_str(),
                        target = finding.user_id.as_str(),
                        "suppressed: a share with our own organization or one of its OUs"
                    );
                    continue;
                }
                kept.push(finding);
                continue;
            }
            let member = match (&accounts, finding.is_public()) {
                (Some(ids), false) => Some(ids.contains(&finding.user_id)),
                _ => None,
            };
            if let Some(member) = member {
                finding.target = Some(TargetInfo {
                    organization_member: Some(member),
                });
            }
            if self.suppress && member == Some(true) {
                suppressed += 1;
                tracing::info!(
                    finding_id = finding.finding_id.as_str(),
                    target_account = finding.user_id.as_str(),
                    "suppressed: a share with an account of the organization"
                );
                continue;
            }
            kept.push(finding);
        }
        super::publish_rest(&self.inner, kept, suppressed).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::Memory;

    fn findings() -> Vec<Finding> {
        crate::testing::share_findings("e1", &["111122223333", "999999999999", "all"])
    }

    fn member(f: &Finding) -> Option<bool> {
        f.target.as_ref().and_then(|t| t.organization_member)
    }

    #[tokio::test]
    async fn targets_say_whether_they_are_members() {
        let org = Arc::new(Organization::list(["111122223333"]));
        let sink = Org::new(Memory::default(), Some(org), false);
        let p = sink.publish(findings()).await.unwrap();
        assert_eq!((p.delivered, p.suppressed), (3, 0));
        let got: Vec<(String, Option<bool>)> = sink
            .inner()
            .take()
            .iter()
            .map(|f| (f.user_id.clone(), member(f)))
            .collect();
        assert_eq!(
            got,
            [
                ("111122223333".to_owned(), Some(true)),
                ("999999999999".to_owned(), Some(false)),
                ("all".to_owned(), None),
            ]
        );
    }

    #[tokio::test]
    async fn suppression_drops_member_shares_only_never_public_ones() {
        let org = Arc::new(Organization::list(["111122223333"]));
        let sink = Org::new(Memory::default(), Some(org), true);
        let p = sink.publish(findings()).await.unwrap();
        assert_eq!((p.delivered, p.suppressed), (2, 1));
        let users: Vec<String> = sink.inner().take().into_iter().map(|f| f.user_id).collect();
        assert_eq!(users, ["999999999999", "all"]);
    }

    #[tokio::test]
    async fn without_an_organization_findings_pass_unchanged() {
        let sink = Org::new(Memory::default(), None, true);
        sink.publish(findings()).await.unwrap();
        assert!(sink.inner().take().iter().all(|f| f.target.is_none()));
    }
}
