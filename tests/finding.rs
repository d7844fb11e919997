//! The finding's schema: what an analyst receives for each share, built through the one
//! detection entry point.

use serde_json::json;
use snapshot_share_detector::cloudtrail::Record;
use snapshot_share_detector::finding::{Finding, MAX_FIELD_BYTES};

const RULE_ID: &str = snapshot_share_detector::rule::share::IDENTITY.id;
use snapshot_share_detector::rule::{self, TrustedAccounts};

fn share_record() -> serde_json::Value {
    json!({
        "eventVersion": "1.09",
        "eventID": "6897ff63-d738-445c-9e86-43e5b1f8e12f",
        "eventTime": "2024-08-01T12:28:02Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "ModifySnapshotAttribute",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15",
        "recipientAccountId": "756680937392",
        "requestID": "aeddc4a7",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::756680937392:user/c",
                         "accountId": "756680937392", "accessKeyId": "AKIAEXAMPLE"},
        "requestParameters": {"snapshotId": "snap-041993b54a9b3af6f",
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": [{"userId": "098797384747"}, {"group": "all"}]}}}
    })
}

fn findings(raw: &serde_json::Value) -> Vec<Finding> {
    let record = Record::new(raw).unwrap();
    rule::detect(&record, None, &TrustedAccounts::default(), None)
}

#[test]
fn carries_what_an_analyst_needs() {
    let raw = share_record();
    let f = &findings(&raw)[0];
    let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
    assert_eq!(v["@timestamp"], "2024-08-01T12:28:02Z");
    assert_eq!(v["rule"]["id"], RULE_ID);
    assert_eq!(v["rule"]["severity"], "low");
    assert_eq!(v["rule"]["risk_score"], 21);
    assert_eq!(v["rule"]["threat"]["technique"]["id"], "T1537");
    assert_eq!(v["rule"]["threat"]["tactic"]["id"], "TA0010");
    assert_eq!(v["event"]["id"], "6897ff63-d738-445c-9e86-43e5b1f8e12f");
    assert_eq!(v["event"]["action"], "ModifySnapshotAttribute");
    assert_eq!(v["event"]["provider"], "ec2.amazonaws.com");
    assert_eq!(v["event"]["outcome"], "success");
    assert_eq!(v["cloud"]["account"]["id"], "756680937392");
    assert_eq!(v["cloud"]["region"], "us-east-1");
    let ct = &v["aws"]["cloudtrail"];
    assert_eq!(
        ct["user_identity"]["arn"],
        "arn:aws:iam::756680937392:user/c"
    );
    assert_eq!(ct["user_identity"]["type"], "IAMUser");
    assert_eq!(ct["user_identity"]["access_key_id"], "AKIAEXAMPLE");
    assert_eq!(ct["request_id"], "aeddc4a7");
    assert_eq!(v["source"]["address"], "203.0.113.7");
    assert_eq!(v["source"]["ip"], "203.0.113.7");
    assert_eq!(v["user_agent"]["original"], "aws-cli/2.15");
    assert_eq!(v["snapshotId"], "snap-041993b54a9b3af6f");
    assert_eq!(v["attributeType"], "CREATE_VOLUME_PERMISSION");
    assert_eq!(v["operationType"], "add");
    assert_eq!(v["userId"], "098797384747");
    assert_eq!(v["public"], false);
    assert!(v.get("log").is_none());
}

#[test]
fn absent_fields_are_left_out() {
    let raw = json!({
        "eventSource": "ec2.amazonaws.com", "eventName": "ModifySnapshotAttribute",
        "requestParameters": {"createVolumePermission": {"add": {"items": [{"userId": "1"}]}}}
    });
    let v: serde_json::Value = serde_json::from_str(&findings(&raw)[0].to_json()).unwrap();
    for key in [
        "@timestamp",
        "source",
        "user_agent",
        "snapshotId",
        "attributeType",
    ] {
        assert!(v.get(key).is_none(), "{key} should be absent: {v}");
    }
    assert!(v["event"].get("id").is_none());
    assert!(v["cloud"].get("account").is_none());
    assert_eq!(v["aws"]["cloudtrail"]["user_identity"], json!({}));
}

#[test]
fn service_names_are_an_address_but_not_an_ip() {
    let mut raw = share_record();
    raw["sourceIPAddress"] = json!("backup.amazonaws.com");
    let f = &findings(&raw)[0];
    let source = f.source.as_ref().unwrap();
    assert_eq!(source.address, "backup.amazonaws.com");
    assert_eq!(source.ip, None);
}

#[test]
fn ids_are_deterministic_and_distinct_per_target() {
    let raw = share_record();
    let a = findings(&raw);
    let b = findings(&raw);
    assert_eq!(a[0].finding_id, b[0].finding_id);
    assert_ne!(a[0].finding_id, a[1].finding_id);
    // Without eventID the content decides, not the formatting or key order.
    let mut no_id = share_record();
    no_id.as_object_mut().unwrap().remove("eventID");
    let text = serde_json::to_string_pretty(&no_id).unwrap();
    let reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        findings(&no_id)[0].finding_id,
        findings(&reparsed)[0].finding_id
    );
    assert_ne!(findings(&no_id)[0].finding_id, a[0].finding_id);
    let mut other = no_id.clone();
    other["eventTime"] = json!("2024-08-01T12:28:03Z");
    assert_ne!(
        findings(&other)[0].finding_id,
        findings(&no_id)[0].finding_id
    );
}

#[test]
fn long_fields_are_clipped_at_a_char_boundary() {
    let mut raw = share_record();
    raw["userAgent"] = json!("é".repeat(5000));
    let f = &findings(&raw)[0];
    let ua = &f.user_agent.as_ref().unwrap().original;
    assert!(ua.len() <= MAX_FIELD_BYTES && ua.ends_with("…[truncated]"));
}
