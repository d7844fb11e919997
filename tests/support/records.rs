//! CloudTrail records and log files as the tests build them, and the sample events on disk.

use serde_json::{json, Value};

/// The account the records are recorded in (owner of the snapshots).
pub const OWNER: &str = "756680937392";

/// A successful `ModifySnapshotAttribute` call sharing `snap-0123` (owned by [`OWNER`]) with
/// each of `targets`.
pub fn share(event_id: &str, targets: &[&str]) -> Value {
    let items: Vec<Value> = targets.iter().map(|t| json!({"userId": t})).collect();
    json!({
        "eventVersion": "1.09", "eventID": event_id, "eventTime": "2024-08-01T12:28:02Z",
        "eventSource": "ec2.amazonaws.com", "eventName": "ModifySnapshotAttribute",
        "awsRegion": "us-east-1", "recipientAccountId": OWNER,
        "userIdentity": {"type": "IAMUser", "accountId": OWNER,
                         "arn": "arn:aws:iam::756680937392:user/c"},
        "requestParameters": {"snapshotId": "snap-0123", "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": items}}}
    })
}

/// The sample share (`events/eventbridge-share-foreign-account.json`, the Stratus detonation
/// record via EventBridge) to each of `targets` instead of its one account: an account id, or
/// `all` for the public.
pub fn sample_share<T: AsRef<str>>(targets: &[T]) -> Value {
    let mut event = json_file("events/eventbridge-share-foreign-account.json");
    let items: Vec<Value> = targets
        .iter()
        .map(|t| match t.as_ref() {
            "all" => json!({"group": "all"}),
            id => json!({ "userId": id }),
        })
        .collect();
    event["detail"]["requestParameters"]["createVolumePermission"]["add"]["items"] = json!(items);
    event
}

/// A record that is no share: an S3 `GetObject`, `noise-<i>`.
pub fn noise(i: usize) -> Value {
    json!({"eventVersion": "1.09", "eventID": format!("noise-{i}"), "eventSource": "s3.amazonaws.com",
           "eventName": "GetObject", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
           "requestParameters": {"bucketName": "b", "key": format!("k{i}")}})
}

/// A CloudTrail log file, uncompressed: `{"Records": [...]}`.
pub fn log_file(records: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

/// A CloudTrail-style key: `AWSLogs/<account>/CloudTrail/<region>/...`.
pub fn trail_key(name: &str) -> String {
    format!("AWSLogs/{OWNER}/CloudTrail/us-east-1/2024/08/01/{name}")
}

/// Reads a JSON file from `events/` or `tests/fixtures/`.
pub fn json_file(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
