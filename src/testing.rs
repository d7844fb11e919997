//! Records and findings for the unit tests, built once here rather than in each module's tests.

use serde_json::{json, Value};

use crate::cloudtrail::Record;
use crate::finding::Finding;
use crate::rule::{self, TrustedAccounts};

/// A `ModifySnapshotAttribute` record of account 756680937392 that adds create-volume
/// permission for each of `targets` (`all` is the public group).
pub fn share_record(event_id: &str, targets: &[&str]) -> Value {
    permission_record(event_id, "add", targets)
}

/// [`share_record`] with the targets under `remove`: the record that ends those shares.
pub fn unshare_record(event_id: &str, targets: &[&str]) -> Value {
    permission_record(event_id, "remove", targets)
}

fn permission_record(event_id: &str, side: &str, targets: &[&str]) -> Value {
    let items: Vec<Value> = targets
        .iter()
        .map(|t| match *t {
            "all" => json!({ "group": "all" }),
            account => json!({ "userId": account }),
        })
        .collect();
    json!({
        "eventID": event_id, "eventSource": "ec2.amazonaws.com",
        "eventName": "ModifySnapshotAttribute", "recipientAccountId": "756680937392",
        "requestParameters": {"snapshotId": "snap-041993b54a9b3af6f",
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {side: {"items": items}}}
    })
}

/// The findings of [`share_record`], nobody trusted.
pub fn share_findings(event_id: &str, targets: &[&str]) -> Vec<Finding> {
    let raw = share_record(event_id, targets);
    findings_of(&raw)
}

/// Every rule's findings for `raw`, nobody trusted.
pub fn findings_of(raw: &Value) -> Vec<Finding> {
    match Record::new(raw) {
        Some(record) => rule::detect(&record, None, &TrustedAccounts::default(), None),
        None => Vec::new(),
    }
}
