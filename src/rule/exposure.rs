//! The exposure rule: a resource that is shared outside its account *now*, as the audit reads
//! it (`audit`), whatever the trail saw. The event rules see a share from the day the detector
//! is deployed; this one sees the shares made before, by a vendor's script, or before the
//! trail existed.
//!
//! One finding per (resource, foreign target), rated by what the target can do now:
//! - `high` (73): public and reachable: anyone can copy it;
//! - `medium` (47): another account, organization or OU;
//! - `low` (21): an EBS snapshot whose attribute says public while the region's block public
//!   access is `block-all-sharing`: nobody can reach it while that setting stays, but switching
//!   it off (the protection-off rule) re-exposes it at once.
//!
//! The owner's own account and `TRUSTED_ACCOUNT_IDS` are no targets; organizations and their
//! accounts are handled by the outputs as for every rule (`ORGANIZATION_ACCOUNTS`).

use super::{texts, Rule, Texts};
use crate::finding::{AuditInfo, Change, Detection, Finding, Identity, Observation};
use crate::finding::{Resource, ResourceType, Status, Target, T1537};
use crate::rule::TrustedAccounts;

pub const IDENTITY: Identity = Identity {
    id: "d3c4fc1a-6713-4304-9e11-cc1ce30d28dc",
    name: "AWS Snapshot, AMI or RDS Snapshot Exposed Outside the Account",
    description: "An EBS snapshot, AMI, or RDS or Aurora snapshot is shared with another \
                  AWS account, an organization or OU, or everyone, as its permission reads \
                  now (audit).",
    severity: "medium",
    risk_score: 47,
    kind: "exposure",
    technique: T1537,
    resolvable: true,
};

/// Reads no call: the audit evaluates it on state ([`evaluate`]), never on a record, so it is
/// not in [`super::RULES`]; [`super::of`] finds it for its texts.
pub static RULE: Rule = Rule {
    identity: IDENTITY,
    reads: &[],
    evaluate: |_, _| Ok(Vec::new()),
    texts: Texts {
        subject,
        target: texts::target,
        next_steps,
    },
};

/// What the audit read of one resource: its permission's targets, and, for an EBS snapshot,
/// the region's block public access state.
#[derive(Debug, Clone)]
pub struct Shared<'a> {
    pub kind: ResourceType,
    pub id: &'a str,
    pub targets: &'a [Target],
    /// `block-all-sharing`, `block-new-sharing`, `unblocked`, or `None` when not read.
    pub block_public_access: Option<&'a str>,
    /// The IAM Access Analyzer that reported the targets, when they were not read from the
    /// resource itself: the finding then names `ListFindings` as the call that saw it.
    pub analyzer: Option<&'a str>,
}

/// The attribute and the call that read it, for each kind.
fn read_by(kind: ResourceType) -> (&'static str, &'static str, &'static str) {
    match kind {
        ResourceType::Image => (
            "launchPermission",
            "DescribeImageAttribute",
            "ec2.amazonaws.com",
        ),
        ResourceType::DbSnapshot => (
            "restore",
            "DescribeDBSnapshotAttributes",
            "rds.amazonaws.com",
        ),
        ResourceType::DbClusterSnapshot => (
            "restore",
            "DescribeDBClusterSnapshotAttributes",
            "rds.amazonaws.com",
        ),
        _ => (
            "createVolumePermission",
            "DescribeSnapshotAttribute",
            "ec2.amazonaws.com",
        ),
    }
}

/// The findings of one resource's state: one per foreign, untrusted target, each once.
pub fn evaluate(
    shared: &Shared<'_>,
    account: &str,
    region: &str,
    time: &str,
    trusted: &TrustedAccounts,
) -> Vec<Finding> {
    let (attribute, mut action, mut provider) = read_by(shared.kind);
    if shared.analyzer.is_some() {
        (action, provider) = ("ListFindings", "access-analyzer.amazonaws.com");
    }
    let seen = Observation {
        account,
        region,
        action,
        provider,
        time,
    };
    let blocked = shared.kind == ResourceType::EbsSnapshot
        && shared.block_public_access == Some("block-all-sharing");
    let mut seen_targets: Vec<&Target> = Vec::new();
    let mut findings = Vec::new();
    for target in shared.targets {
        let foreign = match target {
            Target::Account(id) => id != account && !trusted.contains(id),
            Target::Unknown => false,
            _ => true,
        };
        if !foreign || seen_targets.contains(&target) {
            continue;
        }
        seen_targets.push(target);
        let reachable = !(target.is_public() && blocked);
        let rating = match (target.is_public(), reachable) {
            (true, true) => Some(("high", 73)),
            (true, false) => Some(("low", 21)),
            _ => None,
        };
        let noun = shared.kind.noun();
        let id = shared.id;
        let message = match (target, reachable) {
            (Target::Public, true) => {
                format!("{noun} {id} of account {account} is public (audit, {region})")
            }
            (Target::Public, false) => format!(
                "{noun} {id} of account {account} is marked public, but unreachable while block \
                 public access stays block-all-sharing (audit, {region})"
            ),
            (Target::Organization(arn), _) => format!(
                "{noun} {id} of account {account} is shared with organization {arn} (audit, \
                 {region})"
            ),
            (Target::OrganizationalUnit(arn), _) => format!(
                "{noun} {id} of account {account} is shared with organizational unit {arn} \
                 (audit, {region})"
            ),
            (other, _) => format!(
                "{noun} {id} of account {account} is shared with account {} (audit, {region})",
                other.user_id()
            ),
        };
        let detection = Detection {
            resource: Resource::new(shared.kind, Some(id.to_owned())),
            owner: Some(account.to_owned()),
            target: target.clone(),
            change: Some(Change {
                attribute: Some(attribute.to_owned()),
                operation: "add",
            }),
            message,
            status: Status::Open,
        };
        let audit = AuditInfo {
            reachable,
            block_public_access: shared.block_public_access.map(str::to_owned),
            analyzer: shared.analyzer.map(str::to_owned),
        };
        findings.push(Finding::observed(
            &IDENTITY, &seen, detection, rating, audit,
        ));
    }
    findings
}

/// The resolution of an exposure that an earlier audit reported and this one (`time`) no
/// longer sees: the same id, `status: resolved`.
pub fn resolution(
    resource: &Resource,
    target: &Target,
    account: &str,
    region: &str,
    time: &str,
) -> Finding {
    let (attribute, action, provider) = read_by(resource.kind);
    let seen = Observation {
        account,
        region,
        action,
        provider,
        time,
    };
    let noun = resource.kind.noun();
    let id = resource.id.as_deref().unwrap_or("(unknown id)");
    let whom = match target {
        Target::Public => "public".to_owned(),
        other => format!("shared with {}", other.user_id()),
    };
    let detection = Detection {
        resource: resource.clone(),
        owner: Some(account.to_owned()),
        target: target.clone(),
        change: Some(Change {
            attribute: Some(attribute.to_owned()),
            operation: "remove",
        }),
        message: format!("{noun} {id} of account {account} is no longer {whom} (audit, {region})"),
        status: Status::Resolved,
    };
    let audit = AuditInfo {
        reachable: false,
        block_public_access: None,
        analyzer: None,
    };
    Finding::observed(&IDENTITY, &seen, detection, None, audit)
}

fn subject(f: &Finding) -> String {
    texts::subject(f, "exposed: ")
}

fn next_steps(f: &Finding) -> Vec<String> {
    let mut steps = texts::next_steps(f);
    if f.audit.as_ref().is_some_and(|a| !a.reachable) {
        steps.insert(
            0,
            "Block public access (block-all-sharing) keeps it unreachable for now; make it \
             private all the same, so that switching that setting off cannot expose it."
                .to_owned(),
        );
    }
    steps.push(
        "The audit reads state, not events: look up the ModifySnapshotAttribute, \
         ModifyImageAttribute or ModifyDB[Cluster]SnapshotAttribute call in CloudTrail to \
         learn who shared it and when."
            .to_owned(),
    );
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "111111111111";
    const TIME: &str = "2026-12-03T00:00:00Z";

    fn shared<'a>(kind: ResourceType, targets: &'a [Target], bpa: Option<&'a str>) -> Shared<'a> {
        Shared {
            kind,
            id: "snap-1",
            targets,
            block_public_access: bpa,
            analyzer: None,
        }
    }

    #[test]
    fn one_finding_per_foreign_untrusted_target() {
        let targets = [
            Target::Account("222222222222".into()),
            Target::Account(OWNER.into()),
            Target::Account("333333333333".into()),
            Target::Public,
            Target::Account("222222222222".into()),
        ];
        let trusted = TrustedAccounts::parse("333333333333");
        let found = evaluate(
            &shared(ResourceType::EbsSnapshot, &targets, Some("unblocked")),
            OWNER,
            "eu-west-1",
            TIME,
            &trusted,
        );
        let users: Vec<_> = found.iter().map(|f| f.user_id.as_str()).collect();
        assert_eq!(users, ["222222222222", "all"]);
        assert_eq!(found[0].rule.severity, "medium");
        assert_eq!(
            (found[1].rule.severity.as_str(), found[1].rule.risk_score),
            ("high", 73)
        );
        assert_eq!(found[0].event.kind, "state");
        assert_eq!(found[0].event.action, "DescribeSnapshotAttribute");
        assert_eq!(found[0].rule.id, IDENTITY.id);
    }

    #[test]
    fn a_public_snapshot_under_block_all_sharing_rates_low_and_says_why() {
        let targets = [Target::Public];
        let found = evaluate(
            &shared(
                ResourceType::EbsSnapshot,
                &targets,
                Some("block-all-sharing"),
            ),
            OWNER,
            "eu-west-1",
            TIME,
            &TrustedAccounts::default(),
        );
        assert_eq!(
            (found[0].rule.severity.as_str(), found[0].rule.risk_score),
            ("low", 21)
        );
        assert!(
            found[0].message.contains("unreachable"),
            "{}",
            found[0].message
        );
        assert_eq!(found[0].audit.as_ref().map(|a| a.reachable), Some(false));
        // The setting blocks snapshots only: a public AMI stays reachable.
        let ami = evaluate(
            &shared(ResourceType::Image, &targets, Some("block-all-sharing")),
            OWNER,
            "eu-west-1",
            TIME,
            &TrustedAccounts::default(),
        );
        assert_eq!(ami[0].rule.severity, "high");
    }

    #[test]
    fn ids_are_the_same_in_every_audit_and_differ_by_what_they_name() {
        let targets = [Target::Account("222222222222".into())];
        let s = shared(ResourceType::EbsSnapshot, &targets, None);
        let t = TrustedAccounts::default();
        let a = evaluate(&s, OWNER, "eu-west-1", TIME, &t);
        let b = evaluate(&s, OWNER, "eu-west-1", "2027-01-01T00:00:00Z", &t);
        assert_eq!(a[0].finding_id, b[0].finding_id);
        let other_region = evaluate(&s, OWNER, "us-east-1", TIME, &t);
        assert_ne!(a[0].finding_id, other_region[0].finding_id);
        let as_ami = evaluate(
            &shared(ResourceType::Image, &targets, None),
            OWNER,
            "eu-west-1",
            TIME,
            &t,
        );
        assert_ne!(a[0].finding_id, as_ami[0].finding_id);
    }

    #[test]
    fn texts_name_the_exposure_and_the_command_that_ends_it() {
        let targets = [Target::Public];
        let f = &evaluate(
            &shared(
                ResourceType::EbsSnapshot,
                &targets,
                Some("block-all-sharing"),
            ),
            OWNER,
            "eu-west-1",
            TIME,
            &TrustedAccounts::default(),
        )[0];
        assert_eq!(subject(f), "[low] exposed: EBS snapshot snap-1 made public");
        let steps = next_steps(f);
        assert!(steps[0].contains("block-all-sharing"), "{steps:?}");
        assert!(
            steps.iter().any(|s| s.contains("--operation-type remove --group-names all --region eu-west-1")),
            "{steps:?}"
        );
    }
}
