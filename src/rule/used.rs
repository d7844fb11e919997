//! The second rule: a shared snapshot was used. When another account copies a snapshot shared
//! with it (`SharedSnapshotCopyInitiated`) or creates a volume from it
//! (`SharedSnapshotVolumeCreated`), EC2 records a service event (`eventType` `AwsServiceEvent`)
//! in the owner's account: the data has left, this is the exfiltration itself (T1537).
//!
//! In these records `userIdentity.accountId` is the account that used the snapshot,
//! `recipientAccountId` the owner, and `serviceEventDetails.snapshotId` the snapshot. So the
//! owner is never taken from `userIdentity` here (the share rule's fallback): it is
//! `recipientAccountId`, else the EventBridge envelope's `account` (the event is delivered in
//! the owner's account).

pub use crate::finding::{Use, UseKind};
use serde_json::Value;

use super::TrustedAccounts;
use crate::cloudtrail::Record;

pub const EVENT_SOURCE: &str = "ec2.amazonaws.com";
/// A shared snapshot is being copied by another account.
pub const COPY_EVENT: &str = "SharedSnapshotCopyInitiated";
/// A shared snapshot is being used by another account to create a volume.
pub const VOLUME_EVENT: &str = "SharedSnapshotVolumeCreated";
/// The bytes every name of this rule contains (the prefilter looks for them).
pub const COMMON_PREFIX: &str = "SharedSnapshot";

/// Evaluates one record. Returns `None` unless it is a successful `SharedSnapshotCopyInitiated`
/// or `SharedSnapshotVolumeCreated` from EC2 by an account that is neither the owner nor in
/// `trusted` (a backup or DR account copying what was shared with it is what it is for).
pub fn evaluate(
    record: &Record<'_>,
    envelope_account: Option<&str>,
    trusted: &TrustedAccounts,
) -> Option<Use> {
    if record.event_source != Some(EVENT_SOURCE) {
        return None;
    }
    let kind = match record.event_name? {
        COPY_EVENT => UseKind::Copy,
        VOLUME_EVENT => UseKind::CreateVolume,
        _ => return None,
    };
    if record.failed() {
        return None;
    }
    let owner = record
        .recipient_account_id
        .or(envelope_account.filter(|s| !s.is_empty()));
    let user = record
        .user_identity
        .account_id
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(user) = user {
        if Some(user) == owner || trusted.contains(user) {
            return None;
        }
    }
    Some(Use {
        kind,
        owner: owner.map(str::to_owned),
        snapshot_id: snapshot_id(record.raw),
        user: user.map(str::to_owned),
    })
}

/// `serviceEventDetails.snapshotId` (also when an exporter stored the details as a string).
fn snapshot_id(raw: &Value) -> Option<String> {
    let details = raw.get("serviceEventDetails")?;
    let parsed;
    let details = match details {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).ok()?;
            &parsed
        }
        other => other,
    };
    details
        .get("snapshotId")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}
