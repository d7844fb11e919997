use aws_sdk_securityhub::types::{RecordState, SeverityLabel, WorkflowStatus};
use serde_json::json;

use super::*;
use crate::testing::{findings_of, share_findings, unshare_record};

fn hub(account: &str) -> Hub {
    Hub {
        account: account.to_owned(),
        region: "eu-west-1".to_owned(),
    }
}

const OWNER: &str = "756680937392";
const NOW: &str = "2026-12-03T12:00:00Z";

#[test]
fn a_share_is_a_low_active_finding_keyed_on_its_share() {
    let f = &share_findings("e1", &["111122223333"])[0];
    let a = finding(f, &hub(OWNER), NOW);
    assert_eq!(a.schema_version(), Some(SCHEMA_VERSION));
    assert_eq!(a.id(), f.share_id.as_deref());
    assert_ne!(a.id(), Some(f.finding_id.as_str()));
    assert_eq!(a.generator_id(), Some(f.rule.id.as_str()));
    assert_eq!(
        a.product_arn(),
        Some("arn:aws:securityhub:eu-west-1:756680937392:product/756680937392/default")
    );
    assert_eq!(a.aws_account_id(), Some(OWNER));
    assert_eq!(
        a.severity().and_then(|s| s.label()),
        Some(&SeverityLabel::Low)
    );
    let provider = a.finding_provider_fields().unwrap();
    assert_eq!(
        provider.severity().and_then(|s| s.label()),
        Some(&SeverityLabel::Low)
    );
    assert_eq!(provider.types(), a.types());
    assert!(a.types()[0].starts_with("Effects/Data Exfiltration/"));
    assert_eq!(
        a.title(),
        Some("EBS snapshot snap-041993b54a9b3af6f shared with 111122223333")
    );
    assert_eq!(a.description(), Some(f.message.as_str()));
    assert!(a
        .remediation()
        .unwrap()
        .recommendation()
        .unwrap()
        .text()
        .unwrap()
        .contains("modify-snapshot-attribute --snapshot-id snap-041993b54a9b3af6f"));
    let r = &a.resources()[0];
    assert_eq!(r.r#type(), Some("Other"));
    // The record names no region: the hub's stands in.
    assert_eq!(
        r.id(),
        Some("arn:aws:ec2:eu-west-1::snapshot/snap-041993b54a9b3af6f")
    );
    let other = r.details().unwrap().other().unwrap();
    assert_eq!(other["snapshotId"], "snap-041993b54a9b3af6f");
    assert_eq!(other["sharedWith"], "111122223333");
    assert_eq!(a.record_state(), Some(&RecordState::Active));
    assert_eq!(
        a.workflow().and_then(|w| w.status()),
        Some(&WorkflowStatus::New)
    );
    let call = a.action().unwrap().aws_api_call_action().unwrap();
    assert_eq!(call.api(), Some("ModifySnapshotAttribute"));
    assert_eq!(call.service_name(), Some("ec2.amazonaws.com"));
    let fields = a.product_fields().unwrap();
    assert_eq!(fields["finding_id"], f.finding_id);
    assert_eq!(fields["target_account"], "111122223333");
    assert_eq!(fields["status"], "open");
    // A public share is data exposure too.
    let public = &share_findings("e2", &["all"])[0];
    let types = types(public);
    assert!(
        types.iter().any(|t| t == "Effects/Data Exposure"),
        "{types:?}"
    );
}

#[test]
fn a_removal_archives_and_resolves_the_finding_of_its_share() {
    let share = &share_findings("e1", &["111122223333"])[0];
    let removal = &findings_of(&unshare_record("e9", &["111122223333"]))[0];
    assert!(removal.is_resolution());
    let a = finding(removal, &hub(OWNER), NOW);
    assert_eq!(a.id(), share.share_id.as_deref());
    assert_eq!(a.record_state(), Some(&RecordState::Archived));
    assert_eq!(
        a.workflow().and_then(|w| w.status()),
        Some(&WorkflowStatus::Resolved)
    );
    assert_eq!(a.product_fields().unwrap()["status"], "resolved");
    assert_eq!(
        a.title(),
        Some("EBS snapshot snap-041993b54a9b3af6f no longer shared with 111122223333")
    );
}

#[test]
fn another_accounts_finding_is_imported_as_the_hubs_with_the_owner_in_the_fields() {
    let f = &share_findings("e1", &["111122223333"])[0];
    let a = finding(f, &hub("999999999999"), NOW);
    assert_eq!(a.aws_account_id(), Some("999999999999"));
    assert_eq!(a.product_fields().unwrap()["resource_account"], OWNER);
}

#[test]
fn rds_snapshots_have_their_asff_type_and_block_public_access_is_the_accounts() {
    let raw = json!({
        "eventID": "r1", "eventSource": "rds.amazonaws.com", "awsRegion": "us-east-2",
        "eventName": "ModifyDBClusterSnapshotAttribute", "recipientAccountId": OWNER,
        "requestParameters": {"dBClusterSnapshotIdentifier": "db-1",
            "attributeName": "restore", "valuesToAdd": ["111122223333"]}
    });
    let f = &findings_of(&raw)[0];
    let a = finding(f, &hub(OWNER), NOW);
    let r = &a.resources()[0];
    assert_eq!(r.r#type(), Some("AwsRdsDbClusterSnapshot"));
    assert_eq!(
        r.id(),
        Some("arn:aws:rds:us-east-2:756680937392:cluster-snapshot:db-1")
    );
    assert_eq!(r.region(), Some("us-east-2"));
    let details = r.details().unwrap().aws_rds_db_cluster_snapshot().unwrap();
    assert_eq!(details.db_cluster_snapshot_identifier(), Some("db-1"));
    let off = json!({
        "eventID": "b1", "eventSource": "ec2.amazonaws.com", "awsRegion": "us-east-2",
        "eventName": "DisableSnapshotBlockPublicAccess", "recipientAccountId": OWNER,
        "requestParameters": {}
    });
    let f = &findings_of(&off)[0];
    let a = finding(f, &hub(OWNER), NOW);
    assert_eq!(a.resources()[0].r#type(), Some("AwsAccount"));
    assert_eq!(a.resources()[0].id(), Some("AWS::::Account:756680937392"));
    assert_eq!(
        a.severity().and_then(|s| s.label()),
        Some(&SeverityLabel::Medium)
    );
}
