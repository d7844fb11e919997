//! The block-public-access rule: an account's block public access for EBS snapshots or AMIs was
//! switched off or weakened in a region.
//!
//! Block public access for snapshots has three states: `block-all-sharing` (a snapshot whose
//! attribute says public is not reachable), `block-new-sharing` (existing public snapshots stay
//! public) and `unblocked`. Leaving the first re-exposes every snapshot already marked public,
//! without one `ModifySnapshotAttribute` record: no share rule sees it. AMIs have
//! `block-new-sharing` and `unblocked`. So a finding is:
//! - `DisableSnapshotBlockPublicAccess` or `DisableImageBlockPublicAccess` that succeeded;
//! - `EnableSnapshotBlockPublicAccess` to `block-new-sharing`, which is weaker than
//!   `block-all-sharing`, when the record shows the state (a `state` key in the parameters, or
//!   one level down in the request's wrapper: AWS publishes no CloudTrail example of this call,
//!   so both are read). Enabling images' block public access never weakens it.
//!
//! Our own rule (no peer rule we found detects it). `medium` (risk 47): the call shares nothing
//! by itself, but silently re-opens whatever was already public and removes the guard that
//! would refuse the next public share; it is the step an attacker takes before one.

use serde_json::Value;

use super::{json_field, Call, Context, Rule, Texts};
use crate::cloudtrail::Record;
use crate::finding::{clip, Change, Detection, Finding, Identity, Resource, ResourceType};
use crate::finding::{Status, Target, T1537};
use crate::text::ascii_safe;

const EC2: &str = "ec2.amazonaws.com";
const DISABLE_SNAPSHOT: &str = "DisableSnapshotBlockPublicAccess";
const DISABLE_IMAGE: &str = "DisableImageBlockPublicAccess";
const ENABLE_SNAPSHOT: &str = "EnableSnapshotBlockPublicAccess";
const ENABLE_IMAGE: &str = "EnableImageBlockPublicAccess";

pub const IDENTITY: Identity = Identity {
    id: "87ff6a08-504f-4fbd-8470-c43544b546f7",
    name: "AWS EC2 Block Public Access for Snapshots or AMIs Switched Off",
    description: "Block public access for EBS snapshots or AMIs was switched off or weakened \
                  in a region: snapshots or AMIs already marked public are reachable again, \
                  and new public shares are no longer refused.",
    severity: "medium",
    risk_score: 47,
    kind: "protection-off",
    technique: T1537,
    resolvable: true,
};

pub static RULE: Rule = Rule {
    identity: IDENTITY,
    reads: &[
        Call {
            source: EC2,
            name: DISABLE_SNAPSHOT,
        },
        Call {
            source: EC2,
            name: DISABLE_IMAGE,
        },
        Call {
            source: EC2,
            name: ENABLE_SNAPSHOT,
        },
        Call {
            source: EC2,
            name: ENABLE_IMAGE,
        },
    ],
    evaluate,
    texts: Texts {
        subject,
        target,
        next_steps,
    },
};

fn evaluate(record: &Record<'_>, cx: &Context<'_>) -> Result<Vec<Detection>, String> {
    if record.failed() || record.event_source != Some(EC2) {
        return Ok(Vec::new());
    }
    let (kind, operation, state) = match record.event_name {
        Some(DISABLE_SNAPSHOT) => (
            ResourceType::SnapshotBlockPublicAccess,
            "disable",
            "unblocked",
        ),
        Some(DISABLE_IMAGE) => (ResourceType::ImageBlockPublicAccess, "disable", "unblocked"),
        Some(ENABLE_SNAPSHOT) => {
            let params = json_field(record.raw, "requestParameters")?;
            let kind = ResourceType::SnapshotBlockPublicAccess;
            match params.as_deref().and_then(state_of) {
                Some("block-new-sharing") => (kind, "weaken", "block-new-sharing"),
                // The strongest state: what a finding of this rule reported has ended.
                Some("block-all-sharing") => (kind, "enable", "block-all-sharing"),
                _ => return Ok(Vec::new()),
            }
        }
        // `block-new-sharing` is the only state images have: switched on again.
        Some(ENABLE_IMAGE) => (
            ResourceType::ImageBlockPublicAccess,
            "enable",
            "block-new-sharing",
        ),
        _ => return Ok(Vec::new()),
    };
    let status = match operation {
        "enable" => Status::Resolved,
        _ => Status::Open,
    };
    let owner = record.owner(cx.envelope_account);
    let message = format!(
        "{} of account {} in {} was {} (now {state}) by {}",
        kind.noun(),
        owner.map(clip).as_deref().unwrap_or("(unknown)"),
        record
            .aws_region
            .map(clip)
            .as_deref()
            .unwrap_or("an unknown region"),
        match operation {
            "disable" => "switched off",
            "enable" => "switched back on",
            _ => "weakened",
        },
        record
            .user_identity
            .arn
            .map(clip)
            .as_deref()
            .unwrap_or("an unknown principal"),
    );
    Ok(vec![Detection {
        resource: Resource::new(kind, None),
        owner: owner.map(str::to_owned),
        target: Target::Public,
        change: Some(Change {
            attribute: Some(state.to_owned()),
            operation,
        }),
        message,
        status,
    }])
}

/// The state a request asks for: a `state` key (any case) at the top of the parameters, or
/// one level down (the API's request wrapper).
fn state_of(params: &Value) -> Option<&str> {
    state_here(params).or_else(|| params.as_object()?.values().find_map(state_here))
}

fn state_here(v: &Value) -> Option<&str> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("state"))
        .and_then(|(_, v)| v.as_str())
}

fn subject(f: &Finding) -> String {
    let account = f.cloud.account.as_ref().map_or("?", |a| a.id.as_str());
    let region = f.cloud.region.as_deref().unwrap_or("?");
    let (lead, what) = match f.is_resolution() {
        true => ("resolved".to_owned(), "on again"),
        false => (ascii_safe(&f.rule.severity, 8), "off"),
    };
    format!(
        "[{lead}] {} {what} in {}/{}",
        f.resource.kind.noun(),
        ascii_safe(account, 14),
        ascii_safe(region, 16)
    )
}

fn target(f: &Finding) -> (&'static str, String) {
    let what = match f.resource.kind {
        ResourceType::ImageBlockPublicAccess => {
            "every AMI already marked public, and new public shares"
        }
        _ => "every snapshot already marked public, and new public shares",
    };
    match f.is_resolution() {
        true => ("No longer exposes", what.to_owned()),
        false => ("Exposes", what.to_owned()),
    }
}

fn next_steps(f: &Finding) -> Vec<String> {
    let region = super::texts::region_flag(f);
    let (restore, list) = match f.resource.kind {
        ResourceType::ImageBlockPublicAccess => (
            format!(
                "aws ec2 enable-image-block-public-access --image-block-public-access-state \
                 block-new-sharing{region}"
            ),
            format!("aws ec2 describe-images --owners self --executable-users all{region}"),
        ),
        _ => (
            format!(
                "aws ec2 enable-snapshot-block-public-access --state block-all-sharing{region}"
            ),
            format!(
                "aws ec2 describe-snapshots --owner-ids self --restorable-by-user-ids all{region}"
            ),
        ),
    };
    if f.is_resolution() {
        return vec![
            "Nothing to switch back on: this resolves the finding that reported it off.".to_owned(),
            format!(
                "What was public while it was off may have been copied: list it ({list}) and \
                 look for copies by other accounts in that time."
            ),
        ];
    }
    vec![
        format!("Switch it back on unless this was planned: {restore}."),
        format!("List what is public now, and make it private: {list}."),
        "Find out whether the call was expected; if not, review and rotate the credentials of \
         the principal that made it, and look for share calls that followed."
            .to_owned(),
    ]
}
