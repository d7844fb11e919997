//! The use rule: a shared snapshot was used. When another account copies a snapshot shared
//! with it (`SharedSnapshotCopyInitiated`) or creates a volume from it
//! (`SharedSnapshotVolumeCreated`), EC2 records a service event (`eventType` `AwsServiceEvent`)
//! in the owner's account: the data has left, this is the exfiltration itself (T1537).
//!
//! In these records `userIdentity.accountId` is the account that used the snapshot,
//! `recipientAccountId` the owner, and `serviceEventDetails.snapshotId` the snapshot. So the
//! owner is never taken from `userIdentity` here (the share rule's fallback): it is
//! `recipientAccountId`, else the EventBridge envelope's `account` (the event is delivered in
//! the owner's account).
//!
//! Our own rule (Elastic has none for these events), so our own id. `high` (Elastic's scale:
//! low 21, medium 47, high 73): a share is intent, and most shares go to backup accounts; a use
//! by an account that is neither the owner nor trusted means the data is now in that account.
//! That is the transfer T1537 names, done, not merely possible.

use super::{json_field, text_field, texts, Call, Context, Rule, Texts};
use crate::cloudtrail::Record;
use crate::finding::{
    clip, Detection, Finding, Identity, Resource, ResourceType, Status, Target, T1537,
};
use crate::text::ascii_safe;

pub const EVENT_SOURCE: &str = "ec2.amazonaws.com";
/// A shared snapshot is being copied by another account.
pub const COPY_EVENT: &str = "SharedSnapshotCopyInitiated";
/// A shared snapshot is being used by another account to create a volume.
pub const VOLUME_EVENT: &str = "SharedSnapshotVolumeCreated";

/// Who the rule is.
pub const IDENTITY: Identity = Identity {
    id: "a17865ab-4667-4769-80a9-89edee6e1920",
    name: "AWS EC2 EBS Shared Snapshot Copied or Used by Another Account",
    description: "Another AWS account copied an EBS snapshot shared with it, or created \
                  a volume from it: the data on the snapshot is now in that account \
                  (exfiltration).",
    severity: "high",
    risk_score: 73,
    kind: "use",
    technique: T1537,
    resolvable: false,
};

pub static RULE: Rule = Rule {
    identity: IDENTITY,
    reads: &[
        Call {
            source: EVENT_SOURCE,
            name: COPY_EVENT,
        },
        Call {
            source: EVENT_SOURCE,
            name: VOLUME_EVENT,
        },
    ],
    evaluate,
    texts: Texts {
        subject,
        target,
        next_steps,
    },
};

/// At most one detection: a successful use by an account that is neither the owner nor
/// trusted (a backup or DR account copying what was shared with it is what it is for).
fn evaluate(record: &Record<'_>, cx: &Context<'_>) -> Result<Vec<Detection>, String> {
    let verb = match record.event_name {
        Some(COPY_EVENT) => "copied",
        Some(VOLUME_EVENT) => "used to create a volume",
        _ => return Ok(Vec::new()),
    };
    if record.event_source != Some(EVENT_SOURCE) || record.failed() {
        return Ok(Vec::new());
    }
    let owner = record
        .recipient_account_id
        .or(cx.envelope_account.filter(|s| !s.is_empty()));
    let user = record
        .user_identity
        .account_id
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(user) = user {
        if Some(user) == owner || cx.trusted.contains(user) {
            return Ok(Vec::new());
        }
    }
    // The use is the finding; the snapshot id is a detail of it. Details that cannot be read
    // leave the id unknown rather than cost the finding.
    let details = json_field(record.raw, "serviceEventDetails").ok().flatten();
    let snapshot = details
        .as_deref()
        .and_then(|d| text_field(d, "snapshotId"))
        .map(str::to_owned);
    let target = user.map_or(Target::Unknown, |u| Target::Account(u.to_owned()));
    let message = format!(
        "EBS snapshot {} of account {} was {verb} by account {}",
        snapshot
            .as_deref()
            .map(clip)
            .as_deref()
            .unwrap_or("(unknown id)"),
        owner.map(clip).as_deref().unwrap_or("(unknown)"),
        clip(target.user_id()),
    );
    Ok(vec![Detection {
        resource: Resource::new(ResourceType::EbsSnapshot, snapshot),
        owner: owner.map(str::to_owned),
        target,
        change: None,
        message,
        status: Status::Open,
    }])
}

fn subject(f: &Finding) -> String {
    let verb = if f.event.action == COPY_EVENT {
        "copied by"
    } else {
        "made a volume in"
    };
    format!(
        "[{}] EBS snapshot {} {verb} {}",
        ascii_safe(&f.rule.severity, 8),
        ascii_safe(f.resource.id.as_deref().unwrap_or("(unknown)"), 32),
        ascii_safe(&f.user_id, 24)
    )
}

fn target(f: &Finding) -> (&'static str, String) {
    ("Used by account", f.user_id.clone())
}

fn next_steps(f: &Finding) -> Vec<String> {
    let snapshot = f.resource.id.as_deref().unwrap_or("SNAPSHOT_ID");
    vec![
        format!(
            "Treat this as data that has left: account {} now holds a copy or a volume of \
             the snapshot. Find out what {snapshot} holds (the volume it was taken from).",
            f.user_id
        ),
        format!(
            "Stop further use: {}; check for a public share too (describe-snapshot-attribute).",
            texts::remove_command(f, Some(&format!("--user-ids {}", f.user_id)))
        ),
        format!(
            "Find who shared it: the ModifySnapshotAttribute calls on {snapshot} in CloudTrail, \
             and what that principal did around then."
        ),
        "If the account is a backup or disaster-recovery account of yours, add it to \
         TRUSTED_ACCOUNT_IDS."
            .to_owned(),
    ]
}
