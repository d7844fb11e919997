//! Remediation (`REMEDIATE`): the share a finding reports, removed before the finding is
//! published, within seconds of the call that made it.
//!
//! Safe by construction: only the one target a finding names is ever removed, and only after
//! reading the resource's permission shows it still there ([`Remediator::remediate`]); a
//! trusted account, an account of the organization, or a target whose membership is unknown is
//! never removed ([`decide`]); nothing is ever added. Idempotent: a second delivery of the same
//! event reads the target gone and says so. No setting on the resource (a tag, say) can opt out:
//! whoever can share a snapshot can usually tag it.

mod run;
pub use run::Remediator;

use crate::finding::{Finding, ResourceType, Target};
use crate::rule::TrustedAccounts;

/// Every API action remediation calls in the account that owns a resource, in IAM's spelling:
/// the reads first, then the removals. The member role of `remediation-role.yaml` and the
/// function's own policy grant exactly these (tests hold them to this list).
pub const ACTIONS: &[&str] = &[
    "ec2:DescribeSnapshotAttribute",
    "ec2:ModifySnapshotAttribute",
    "ec2:DescribeImageAttribute",
    "ec2:ModifyImageAttribute",
    "rds:DescribeDBSnapshotAttributes",
    "rds:ModifyDBSnapshotAttribute",
    "rds:DescribeDBClusterSnapshotAttributes",
    "rds:ModifyDBClusterSnapshotAttribute",
];

/// What switching block public access back on calls (`REMEDIATE_BLOCK_PUBLIC_ACCESS`), in the
/// account and region of the finding: read the state, switch it on. These calls have no
/// resource-level permission (an account's setting in a region), and `Enable` cannot switch it
/// off.
pub const BLOCK_PUBLIC_ACCESS_ACTIONS: &[&str] = &[
    "ec2:GetSnapshotBlockPublicAccessState",
    "ec2:EnableSnapshotBlockPublicAccess",
    "ec2:GetImageBlockPublicAccessState",
    "ec2:EnableImageBlockPublicAccess",
];

/// Which shares are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// None (the default).
    #[default]
    Off,
    /// Public shares only.
    Public,
    /// Public shares, and every target that is neither trusted nor, when the organization is
    /// known, one of its accounts.
    Untrusted,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Some(Mode::Off),
            "public" => Some(Mode::Public),
            "untrusted" => Some(Mode::Untrusted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Public => "public",
            Mode::Untrusted => "untrusted",
        }
    }
}

/// The role remediation assumes in the account that owns a resource, when it is not the
/// function's own (`REMEDIATION_ROLE_NAME`, `REMEDIATION_EXTERNAL_ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub external_id: Option<String>,
}

/// The remediation settings (`REMEDIATE`, `REMEDIATE_DRY_RUN`, the role), with the trusted
/// accounts it must never remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub mode: Mode,
    pub dry_run: bool,
    pub role: Option<Role>,
    pub trusted: TrustedAccounts,
    /// Whether the organization's accounts are configured (`ORGANIZATION_ACCOUNTS`): then a
    /// target whose membership is unknown is not removed.
    pub organization: bool,
    /// `REMEDIATE_BLOCK_PUBLIC_ACCESS`: the state block public access for EBS snapshots is
    /// switched back to (`block-all-sharing` or `block-new-sharing`; AMIs' to
    /// `block-new-sharing`, their only one) when a finding says it was switched off or
    /// weakened; `None`: left as it is.
    pub block_public_access: Option<String>,
}

/// The states `REMEDIATE_BLOCK_PUBLIC_ACCESS` accepts.
pub const BLOCK_PUBLIC_ACCESS_STATES: [&str; 2] = ["block-all-sharing", "block-new-sharing"];

/// Whether remediation concerns `finding` at all: an open share of a resource whose permission
/// can be narrowed (an EBS snapshot, an AMI, an RDS DB or cluster snapshot), made by a call
/// that succeeded, or seen by the audit. A resolution, a use, a failed attempt or a switched-off
/// guard is never remediated.
pub fn applies(finding: &Finding) -> bool {
    finding.share_id.is_some()
        && !finding.is_resolution()
        && finding.error.is_none()
        && finding.resource.id.is_some()
        && crate::permission::remove_call(finding.resource.kind).is_some()
}

/// The state block public access is to be switched back to for `finding`: a `protection-off`
/// finding (open, of a call that succeeded) when remediation is on and
/// `REMEDIATE_BLOCK_PUBLIC_ACCESS` names a state.
pub fn restores<'a>(finding: &Finding, settings: &'a Settings) -> Option<&'a str> {
    let snapshots = settings.block_public_access.as_deref()?;
    if settings.mode == Mode::Off || finding.is_resolution() || finding.error.is_some() {
        return None;
    }
    match finding.resource.kind {
        ResourceType::SnapshotBlockPublicAccess => Some(snapshots),
        ResourceType::ImageBlockPublicAccess => Some("block-new-sharing"),
        _ => None,
    }
}

/// Whether block public access in state `now` blocks at least as much as `wanted`.
pub fn at_least(now: &str, wanted: &str) -> bool {
    let strength = |s: &str| match s {
        "block-all-sharing" => 2,
        "block-new-sharing" => 1,
        _ => 0,
    };
    strength(now) >= strength(wanted)
}

/// The target a finding names (its `userId`).
pub fn target_of(finding: &Finding) -> Target {
    let id = finding.user_id.as_str();
    if id == "all" {
        Target::Public
    } else if crate::text::is_account_id(id) {
        Target::Account(id.to_owned())
    } else if id.starts_with("arn:") && id.contains(":ou/") {
        Target::OrganizationalUnit(id.to_owned())
    } else if id.starts_with("arn:") && id.contains(":organization/") {
        Target::Organization(id.to_owned())
    } else {
        Target::Unknown
    }
}

/// The target of `finding` that `settings` allow removing, or why none is.
pub fn decide(finding: &Finding, settings: &Settings) -> Result<Target, String> {
    let target = target_of(finding);
    let member = finding.target.as_ref().and_then(|t| t.organization_member);
    match (&target, settings.mode) {
        (_, Mode::Off) => Err("REMEDIATE is off".to_owned()),
        (Target::Public, _) => Ok(target),
        (Target::Unknown, _) => Err("the finding names no target that can be removed".to_owned()),
        (_, Mode::Public) => Err("REMEDIATE=public removes public shares only".to_owned()),
        (Target::Account(a), Mode::Untrusted) if settings.trusted.contains(a) => {
            Err(format!("account {a} is trusted (TRUSTED_ACCOUNT_IDS)"))
        }
        (_, Mode::Untrusted) if member == Some(true) => {
            Err(format!("{} belongs to the organization", target.user_id()))
        }
        (Target::Account(_), Mode::Untrusted) if settings.organization && member.is_none() => {
            Err("whether the account belongs to the organization is unknown".to_owned())
        }
        (Target::Organization(_) | Target::OrganizationalUnit(_), Mode::Untrusted)
            if member.is_none() =>
        {
            Err("whether this organization is ours is unknown (ORGANIZATION_ID)".to_owned())
        }
        (_, Mode::Untrusted) => Ok(target),
    }
}

/// The call that removes `target` from the resource, as the finding's `remediation.action`
/// says it: `ModifySnapshotAttribute createVolumePermission remove group=all`.
pub fn action(kind: ResourceType, target: &Target) -> String {
    let Some((call, attribute)) = crate::permission::remove_call(kind) else {
        return "none".to_owned();
    };
    let item = match (kind, target) {
        (ResourceType::DbSnapshot | ResourceType::DbClusterSnapshot, _) => {
            format!("valuesToRemove={}", target.user_id())
        }
        (_, Target::Public) => "group=all".to_owned(),
        (_, Target::Organization(arn)) => format!("organizationArn={arn}"),
        (_, Target::OrganizationalUnit(arn)) => format!("organizationalUnitArn={arn}"),
        (_, other) => format!("userId={}", other.user_id()),
    };
    let verb = match kind {
        ResourceType::DbSnapshot | ResourceType::DbClusterSnapshot => "",
        _ => " remove",
    };
    format!("{call} {attribute}{verb} {item}")
}

#[cfg(test)]
mod tests;
