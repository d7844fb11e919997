//! The share rule: an EBS snapshot was shared with another account or made public.
//!
//! It follows Elastic's "AWS EC2 EBS Snapshot Shared with Another Account" (a successful
//! `ec2.amazonaws.com` `ModifySnapshotAttribute` call that adds create-volume permission for an
//! account other than the owner's) and goes further where that rule is blind:
//! - it reads `requestParameters` as JSON (also when an exporter turned it into a string), not
//!   with a pattern over its text, so key order and formatting do not matter;
//! - it reports every target of a call, not only the first, and public shares (`group: all`);
//! - items under `remove` never count, also when the same call adds and removes;
//! - `attributeType` compares without regard to case or underscores (`CREATE_VOLUME_PERMISSION`,
//!   `createVolumePermission`), and a call that omits it but adds create-volume permission
//!   still counts: the EC2 API lets the caller leave the attribute out, and the permission list
//!   is what shares the data.

use std::collections::HashSet;

use serde_json::Value;

use super::{json_field, Call, Context, Rule, Texts, TrustedAccounts};
use crate::cloudtrail::Record;
use crate::finding::{clip, Change, Detection, Finding, Identity, Resource, ResourceType};
use crate::finding::{Target, T1537};
use crate::text::ascii_safe;

pub const EVENT_SOURCE: &str = "ec2.amazonaws.com";
pub const EVENT_NAME: &str = "ModifySnapshotAttribute";

/// Who the rule is.
pub const IDENTITY: Identity = Identity {
    id: "4182e486-fc61-11ee-a05d-f661ea17fbce",
    name: "AWS EC2 EBS Snapshot Shared with Another Account",
    description: "An EBS snapshot was shared with another AWS account or made public; \
                  the data on it can be restored there (exfiltration).",
    severity: "low",
    risk_score: 21,
    kind: "share",
    technique: T1537,
};

pub static RULE: Rule = Rule {
    identity: IDENTITY,
    reads: &[Call {
        source: EVENT_SOURCE,
        name: EVENT_NAME,
    }],
    evaluate: detections,
    texts: Texts {
        subject,
        target,
        next_steps,
    },
};

/// A snapshot share found in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// The account that owns the snapshot, when the record tells.
    pub owner: Option<String>,
    pub snapshot_id: Option<String>,
    pub attribute_type: Option<String>,
    /// Distinct foreign targets, in the order of the request.
    pub targets: Vec<Target>,
}

/// The verdict on one record: `None` unless it shares a snapshot with at least one untrusted
/// foreign account or with everyone. `envelope_account` is the `account` of the EventBridge
/// event that carried it, if any (the owner of last resort). A record whose parameters cannot
/// be read gives `None` here; [`super::evaluate_record`] counts it as a problem.
pub fn evaluate(
    record: &Record<'_>,
    envelope_account: Option<&str>,
    trusted: &TrustedAccounts,
) -> Option<Share> {
    share(record, envelope_account, trusted).ok().flatten()
}

fn share(
    record: &Record<'_>,
    envelope_account: Option<&str>,
    trusted: &TrustedAccounts,
) -> Result<Option<Share>, String> {
    if record.event_source != Some(EVENT_SOURCE)
        || record.event_name != Some(EVENT_NAME)
        || record.failed()
    {
        return Ok(None);
    }
    let Some(params) = json_field(record.raw, "requestParameters")? else {
        return Ok(None);
    };
    let attribute_type = params.get("attributeType").and_then(Value::as_str);
    if let Some(kind) = attribute_type {
        if !is_create_volume_permission(kind) {
            return Ok(None);
        }
    }
    let owner = record.owner(envelope_account);
    let mut seen = HashSet::new();
    let mut targets = Vec::new();
    for item in added_items(&params) {
        if let Some(group) = item.get("group").and_then(Value::as_str) {
            if group.trim().eq_ignore_ascii_case("all") && seen.insert(Target::Public) {
                targets.push(Target::Public);
            }
        }
        if let Some(user) = item.get("userId").and_then(Value::as_str) {
            let user = user.trim();
            if user.is_empty() || Some(user) == owner || trusted.contains(user) {
                continue;
            }
            let target = Target::Account(user.to_owned());
            if seen.insert(target.clone()) {
                targets.push(target);
            }
        }
    }
    if targets.is_empty() {
        return Ok(None);
    }
    Ok(Some(Share {
        owner: owner.map(str::to_owned),
        snapshot_id: params
            .get("snapshotId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        attribute_type: attribute_type.map(str::to_owned),
        targets,
    }))
}

/// The registry's evaluation: one detection per foreign target.
fn detections(record: &Record<'_>, cx: &Context<'_>) -> Result<Vec<Detection>, String> {
    let Some(share) = share(record, cx.envelope_account, cx.trusted)? else {
        return Ok(Vec::new());
    };
    let actor = record.user_identity.arn.map(clip);
    let snapshot = share.snapshot_id.as_deref().map(clip);
    let owner = share.owner.as_deref().map(clip);
    Ok(share
        .targets
        .iter()
        .map(|target| {
            let what = match target {
                Target::Public => "made public".to_owned(),
                other => format!("shared with account {}", clip(other.user_id())),
            };
            Detection {
                resource: Resource::new(ResourceType::EbsSnapshot, share.snapshot_id.clone()),
                owner: share.owner.clone(),
                target: target.clone(),
                change: Some(Change {
                    attribute: share.attribute_type.clone(),
                    operation: "add",
                }),
                message: format!(
                    "EBS snapshot {} of account {} was {what} by {}",
                    snapshot.as_deref().unwrap_or("(unknown id)"),
                    owner.as_deref().unwrap_or("(unknown)"),
                    actor.as_deref().unwrap_or("an unknown principal"),
                ),
            }
        })
        .collect())
}

/// `CREATE_VOLUME_PERMISSION` in any case, with or without underscores.
fn is_create_volume_permission(kind: &str) -> bool {
    let letters = kind.bytes().filter(|&b| b != b'_');
    letters
        .map(|b| b.to_ascii_lowercase())
        .eq("createvolumepermission".bytes())
}

/// The items of `createVolumePermission.add.items` (a single object counts as one item).
fn added_items(params: &Value) -> impl Iterator<Item = &Value> {
    let items = params
        .get("createVolumePermission")
        .and_then(|p| p.get("add"))
        .and_then(|a| a.get("items"));
    let (many, one) = match items {
        Some(Value::Array(list)) => (Some(list.iter()), None),
        Some(item @ Value::Object(_)) => (None, Some(item)),
        _ => (None, None),
    };
    many.into_iter().flatten().chain(one)
}

fn subject(f: &Finding) -> String {
    let snapshot = ascii_safe(f.resource.id.as_deref().unwrap_or("(unknown)"), 32);
    let severity = ascii_safe(&f.rule.severity, 8);
    if f.is_public() {
        format!("[{severity}] EBS snapshot {snapshot} made public")
    } else {
        format!(
            "[{severity}] EBS snapshot {snapshot} shared with {}",
            ascii_safe(&f.user_id, 24)
        )
    }
}

fn target(f: &Finding) -> (&'static str, String) {
    if f.is_public() {
        ("Shared with", "everyone (public)".to_owned())
    } else {
        ("Shared with account", f.user_id.clone())
    }
}

/// `aws ec2 modify-snapshot-attribute ... remove` for `who`, in the finding's region.
pub(super) fn remove_command(f: &Finding, who: &str) -> String {
    let snapshot = f.resource.id.as_deref().unwrap_or("SNAPSHOT_ID");
    let region = f
        .cloud
        .region
        .as_deref()
        .map(|r| format!(" --region {r}"))
        .unwrap_or_default();
    format!(
        "aws ec2 modify-snapshot-attribute --snapshot-id {snapshot} --attribute \
         createVolumePermission --operation-type remove {who}{region}"
    )
}

fn next_steps(f: &Finding) -> Vec<String> {
    let snapshot = f.resource.id.as_deref().unwrap_or("SNAPSHOT_ID");
    if f.is_public() {
        return vec![
            format!(
                "Make it private now, anyone can copy it: {}.",
                remove_command(f, "--group-names all")
            ),
            "Find out what the snapshot holds, and whether the call was expected; if not, \
             review and rotate the credentials of the principal that made it."
                .to_owned(),
            format!(
                "Look for SharedSnapshotCopyInitiated and SharedSnapshotVolumeCreated on \
                 {snapshot}: they record a use by another account."
            ),
        ];
    }
    vec![
        format!(
            "Check whether account {} is expected (a backup or disaster-recovery account); \
             if it is, add it to TRUSTED_ACCOUNT_IDS.",
            f.user_id
        ),
        format!(
            "If it is not, remove the permission: {}.",
            remove_command(f, &format!("--user-ids {}", f.user_id))
        ),
        "Find out whether the call was expected; if not, review and rotate the credentials \
         of the principal that made it."
            .to_owned(),
        format!(
            "Look for SharedSnapshotCopyInitiated and SharedSnapshotVolumeCreated on \
             {snapshot}: they record a use by the other account."
        ),
    ]
}
