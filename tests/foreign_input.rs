//! Input that is not CloudTrail must never read as "nothing found": `scan` names each foreign
//! file and exits 2, and the Lambda function fails the unit that held it, while the real log
//! files beside it still give their findings.

mod support;

use std::process::{Command, Output};

use serde_json::{json, Value};
use snapshot_share_detector::config::Settings;
use snapshot_share_detector::lambda::{Handler, Response};
use snapshot_share_detector::pipeline::Pipeline;
use snapshot_share_detector::sink::Memory;
use snapshot_share_detector::source::MemoryStore;
use snapshot_share_detector::tally::ErrorKind;
use support::output::targets;

const LABELS: &str = "tests/fixtures/foreign/labels.json";
const CONFIG_ITEMS: &str = "tests/fixtures/foreign/config-items.jsonl";
const SHARE: &str = "events/eventbridge-share-foreign-account.json";

fn scan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
        .env_remove("FINDINGS_TOPIC_ARN")
        .env_remove("TRUSTED_ACCOUNT_IDS")
        .arg("scan")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_json_document_that_is_not_cloudtrail_fails_the_scan() {
    let out = scan(&[LABELS]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.contains(&format!(
            "error: {LABELS}: record 1 (byte 0): not CloudTrail: an object with none of the keys \
             of a CloudTrail record (keys: labels)"
        )),
        "{err}"
    );
    assert!(
        err.contains("scanned 1 inputs (189 B): 1 records, 1 not CloudTrail, 0 findings, 1 errors"),
        "{err}"
    );
}

#[test]
fn json_lines_of_another_service_fail_the_scan() {
    let out = scan(&[CONFIG_ITEMS]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "error: {CONFIG_ITEMS}: record 1 (byte 0): not CloudTrail: an object with none of \
             the keys of a CloudTrail record (keys: accountId, awsRegion, configuration, \
             configurationItemCaptureTime, configurationItemStatus, resourceId)"
        )),
        "{err}"
    );
}

#[test]
fn a_mixed_directory_prints_the_real_findings_and_names_each_foreign_file() {
    let dir = std::env::temp_dir().join(format!("ssd-foreign-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (from, to) in [
        (LABELS, "a-labels.json"),
        (SHARE, "b-share.json"),
        (CONFIG_ITEMS, "c-config.jsonl"),
        (
            "tests/fixtures/corpus/all-corpus-records.Records.json.gz",
            "d-log.json.gz",
        ),
    ] {
        std::fs::copy(from, dir.join(to)).unwrap();
    }
    std::fs::write(dir.join("e-empty-log.json"), r#"{"Records":[]}"#).unwrap();
    let out = scan(&[dir.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // The share event, then the corpus log file's 14 findings (5 snapshot shares, 1 use, 4
    // AMI and 2 RDS shares, 2 failed attempts).
    let targets = targets(&out);
    assert_eq!(targets.len(), 15, "{targets:?}");
    assert_eq!(targets[0], "098797384747");
    let named: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(named.len(), 2, "{err}");
    assert!(named[0].contains("a-labels.json: record 1 (byte 0): not CloudTrail"));
    assert!(named[1].contains("c-config.jsonl: record 1 (byte 0): not CloudTrail"));
    assert!(
        err.contains(", 2 not CloudTrail, 15 findings, 2 errors"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_empty_log_file_stays_valid() {
    let path = std::env::temp_dir().join(format!("ssd-empty-{}.json", std::process::id()));
    std::fs::write(&path, r#"{"Records":[]}"#).unwrap();
    let out = scan(&[path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&path).unwrap();
}

fn sqs_message(id: &str, key: &str) -> Value {
    let notice = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "trail"}, "object": {"key": key}}}]});
    json!({"messageId": id, "eventSource": "aws:sqs", "body": notice.to_string()})
}

#[tokio::test]
async fn an_object_that_holds_no_cloudtrail_fails_its_message_only() {
    let store = MemoryStore::new();
    store.put(
        "trail",
        "AWSLogs/labels.json",
        std::fs::read(LABELS).unwrap(),
    );
    store.put(
        "trail",
        "AWSLogs/log.json.gz",
        std::fs::read("tests/fixtures/corpus/all-corpus-records.Records.json.gz").unwrap(),
    );
    let handler = Handler::new(
        Pipeline::new(Memory::default(), Some(store), Settings::default()),
        4,
    );
    let batch = json!({"Records": [
        sqs_message("foreign", "AWSLogs/labels.json"),
        sqs_message("real", "AWSLogs/log.json.gz"),
    ]});
    let (response, summary) = handler.handle(batch).await;
    let Ok(Response::Batch(batch)) = response else {
        panic!("not a batch response: {response:?}");
    };
    let failed: Vec<&str> = batch
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["foreign"]);
    assert_eq!(summary.tally.not_cloudtrail, 1);
    // The corpus log file's 14 findings.
    assert_eq!(summary.tally.findings, 14);
    assert_eq!(handler.pipeline().sink().take().len(), 14);
    // Named, and of its own kind: no retry can make it CloudTrail.
    let errors: Vec<(ErrorKind, &str)> = summary
        .tally
        .errors
        .iter()
        .map(|e| (e.kind, e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [(
            ErrorKind::NotCloudTrail,
            "s3://trail/AWSLogs/labels.json (189 bytes): record 1 (byte 0): not CloudTrail: an \
          object with none of the keys of a CloudTrail record (keys: labels)"
        )]
    );
}
