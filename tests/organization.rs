//! The organization-wide paths: an organization trail's CloudWatch Logs log group (shares,
//! non-shares and control messages), and EventBridge events forwarded from member accounts to a
//! central bus.

use std::process::Command;

use serde_json::{json, Value};
use snapshot_share_detector::config::Settings;
use snapshot_share_detector::lambda::{Handler, Response};
use snapshot_share_detector::pipeline::Pipeline;
use snapshot_share_detector::sink::Memory;
use snapshot_share_detector::source::MemoryStore;
use snapshot_share_detector::trigger::Trigger;

const ORG_TRAIL: &str = "events/cloudwatch-logs-org-trail.json";
const CONTROL: &str = "events/cloudwatch-logs-control.json";

fn handler() -> Handler<Memory, MemoryStore> {
    Handler::new(
        Pipeline::new(Memory::default(), None, Settings::default()),
        4,
    )
}

fn event(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_log_group_payload_gives_the_findings_of_its_shares_only() {
    let h = handler();
    let (response, summary) = h.handle(event(ORG_TRAIL)).await;
    assert!(matches!(response, Ok(Response::Summary(_))), "{response:?}");
    assert_eq!(summary.trigger, Trigger::CloudwatchLogs);
    // Seven records: two snapshot shares (a real detonation exported by Datadog, and Panther's
    // foreign userId test), a `group: none` add (nothing), a failed public share (an attempt),
    // an AMI share, an RDS share and block public access switched off: every kind.
    assert_eq!((summary.tally.records, summary.tally.findings), (7, 6));
    let findings = h.pipeline().sink().take();
    let targets: Vec<(&str, Option<&str>)> = findings
        .iter()
        .map(|f| {
            (
                f.user_id.as_str(),
                f.cloud.account.as_ref().map(|a| a.id.as_str()),
            )
        })
        .collect();
    // The snapshot owner is each record's account, not the log group's owner (999988887777,
    // the organization's management account).
    assert_eq!(
        targets,
        [
            ("012345678912", Some("677301038893")),
            ("all", Some("123456789012")),
            ("111122223333", Some("123456789012")),
            ("846424999548", Some("118238665043")),
            ("503161813013", Some("171471557522")),
            // Block public access switched off: the whole account's public snapshots.
            ("all", Some("756680937392")),
        ]
    );
}

#[tokio::test]
async fn a_control_message_is_skipped() {
    let h = handler();
    let (response, summary) = h.handle(event(CONTROL)).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!((summary.tally.skipped, summary.tally.findings), (1, 0));
}

#[tokio::test]
async fn a_payload_that_does_not_decode_fails_the_invocation() {
    let h = handler();
    let (response, summary) = h.handle(json!({"awslogs": {"data": "%%%"}})).await;
    let error = response.unwrap_err().to_string();
    assert!(
        error.contains("CloudWatch Logs payload: awslogs.data is not base64"),
        "{error}"
    );
    assert_eq!(summary.failed_units, 1);
}

#[test]
fn scan_reads_log_group_payloads_by_content() {
    let out = Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
        .env_remove("FINDINGS_TOPIC_ARN")
        .env_remove("TRUSTED_ACCOUNT_IDS")
        .args(["scan", ORG_TRAIL, CONTROL])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let targets: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["userId"].to_string())
        .collect();
    assert_eq!(
        targets,
        [
            "\"012345678912\"",
            "\"all\"",
            "\"111122223333\"",
            "\"846424999548\"",
            "\"503161813013\"",
            "\"all\""
        ]
    );
    assert!(err.contains("6 findings, 0 errors"), "{err}");
}

#[tokio::test]
async fn a_forwarded_event_keeps_the_member_account_and_region() {
    // What a forwarder rule in a member account puts on the central bus: the source event
    // unchanged, its `account` and `region` those of the member.
    let mut forwarded = event("events/eventbridge-share-foreign-account.json");
    forwarded["account"] = json!("210987654321");
    forwarded["region"] = json!("eu-central-2");
    forwarded["detail"]["awsRegion"] = json!("eu-central-2");
    forwarded["detail"]["recipientAccountId"] = json!("210987654321");
    forwarded["detail"]["userIdentity"]["accountId"] = json!("210987654321");
    let h = handler();
    let (response, summary) = h.handle(forwarded).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(summary.tally.findings, 1);
    let f = &h.pipeline().sink().take()[0];
    let v = serde_json::to_value(f).unwrap();
    assert_eq!(v["cloud"]["account"]["id"], "210987654321");
    assert_eq!(v["cloud"]["region"], "eu-central-2");
    assert_eq!(v["userId"], "098797384747");
}
