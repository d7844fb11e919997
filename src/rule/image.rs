//! The AMI share rule: an AMI's launch permission was given to another account, an
//! organization or organizational unit, or everyone. Whoever may launch an AMI can copy it, and
//! its snapshots, into their own account (`CopyImage`): the same exfiltration as a snapshot
//! share, through another door.
//!
//! Elastic's "AWS EC2 AMI Shared with Another Account" (its id, severity and risk score), read
//! the way the share rule reads snapshots: every item of `launchPermission.add.items`
//! (`userId`, `group: all`, `organizationArn`, `organizationalUnitArn`), one finding per foreign
//! target, never removals, failed calls, self-shares, trusted accounts or other attributes
//! (`description`, `productCodes`, ...). Like Elastic's rule, calls AWS Marketplace makes on a
//! seller's behalf (`userIdentity.invokedBy` `assets.marketplace.amazonaws.com`, through the
//! ingestion role the seller created) are not findings: Marketplace is one of the trusted
//! services (`TRUSTED_SERVICES`). Whether an organization or OU target is
//! one's own is decided where the organization is known (the `Org` layer of the sinks).

use super::grant::{self, IMAGE_CALL};
use super::{texts, Rule, Texts};
use crate::finding::{Finding, Identity, T1537};

pub const IDENTITY: Identity = Identity {
    id: "6a309864-fc3f-11ee-b8cc-f661ea17fbce",
    name: "AWS EC2 AMI Shared with Another Account",
    description: "An AMI's launch permission was given to another AWS account, an \
                  organization or OU, or everyone; its snapshots can be copied there \
                  (exfiltration).",
    severity: "high",
    risk_score: 73,
    kind: "share",
    technique: T1537,
    resolvable: true,
};

pub static RULE: Rule = Rule {
    identity: IDENTITY,
    reads: &[IMAGE_CALL],
    evaluate: grant::shares,
    texts: Texts {
        subject,
        target: texts::target,
        next_steps: texts::next_steps,
    },
};

fn subject(f: &Finding) -> String {
    texts::subject(f, "")
}
