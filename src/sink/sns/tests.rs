//! Unit tests of the parent module.

use super::*;
use crate::rule;
use serde_json::json;

fn share_record() -> serde_json::Value {
    crate::testing::share_record(
        "6897ff63-d738-445c-9e86-43e5b1f8e12f",
        &["098797384747", "all"],
    )
}

fn findings(raw: &serde_json::Value) -> Vec<Finding> {
    crate::testing::findings_of(raw)
}

#[test]
fn subjects_are_short_and_printable() {
    let raw = share_record();
    let f = findings(&raw);
    assert_eq!(
        subject(&f[0]),
        "[low] EBS snapshot snap-041993b54a9b3af6f shared with 098797384747"
    );
    assert_eq!(
        subject(&f[1]),
        "[low] EBS snapshot snap-041993b54a9b3af6f made public"
    );
    let mut hostile = share_record();
    hostile["requestParameters"]["snapshotId"] = json!(format!("snap-\n{}", "x".repeat(500)));
    let s = subject(&findings(&hostile)[0]);
    assert!(s.len() < 100 && !s.contains('\n'), "{s}");
}

#[test]
fn attributes_for_filter_policies() {
    let raw = share_record();
    let f = findings(&raw);
    let attrs = attributes(&f[1]);
    assert!(attrs.contains(&("finding_kind", "String", "share".to_owned())));
    assert!(attrs.contains(&("severity", "String", "low".to_owned())));
    assert!(attrs.contains(&("risk_score", "Number", "21".to_owned())));
    assert!(attrs.contains(&("target_account", "String", "all".to_owned())));
    assert!(attrs.contains(&("public", "String", "true".to_owned())));
    assert!(attrs.contains(&(
        "rule_id",
        "String",
        rule::share::RULE.identity.id.to_owned()
    )));
    assert!(attrs.contains(&("resource_type", "String", "ebs-snapshot".to_owned())));
    assert!(attrs.contains(&("event_action", "String", rule::EVENT_NAME.to_owned())));
}
