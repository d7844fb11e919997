//! Security Hub as an output, against moto: findings imported as ASFF through the SDK's
//! Security Hub client, one per share, updated by a repeat of the same event and archived by
//! the removal of the share, while SNS carries the resolution with `status=resolved`.
//!
//! moto lacks `BatchUpdateFindings` (the call that sets a finding's workflow to RESOLVED once it
//! exists): the test proxy in front of moto answers it as the API reference documents its
//! response, and the tests read what the detector asked of it. Each test imports in a region of
//! its own, since moto keeps one hub per account and region.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::process::{Command, Output};

use serde_json::{json, Value};
use support::lambda::{free_port, invoke, read, require_cargo_lambda, start_watch};
use support::moto::{moto, AtMoto};
use support::output::findings;
use support::proxy::Proxy;
use support::securityhub::{answer_batch_update, hub, imported, BATCH_UPDATE};

const LOG: &str = "tests/fixtures/rules/every-kind.Records.json.gz";
/// moto's account: the credentials' own, so that the resource's account is the hub's.
const HUB_ACCOUNT: &str = "123456789012";
fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn proxy() -> Proxy {
    let upstream = moto().endpoint.trim_start_matches("http://").to_owned();
    let proxy = Proxy::start(&upstream).await;
    answer_batch_update(&proxy);
    proxy
}

/// `scan --publish` of `path`, to `topic` and Security Hub in `region`, through `endpoint`.
fn publish(path: &str, topic: &str, region: &str, endpoint: &str) -> Output {
    let out = bin()
        .args(["scan", "--publish", "--format", "json", path])
        .env("FINDINGS_TOPIC_ARN", topic)
        .env("SECURITY_HUB", "true")
        .env_remove("TRUSTED_ACCOUNT_IDS")
        .at_moto(endpoint)
        .env("AWS_REGION", region)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    out
}

/// The records of the log file, by `eventID`.
fn records() -> BTreeMap<String, Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(LOG).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let log: Value = serde_json::from_str(&text).unwrap();
    log["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| Some((r["eventID"].as_str()?.to_owned(), r.clone())))
        .collect()
}

/// `record` as EventBridge delivers it.
fn eventbridge(record: &Value) -> Value {
    json!({
        "version": "0", "id": "0d6b4c7a-1111-4c8e-9b1e-5f0a7e3c2d11",
        "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
        "account": record["recipientAccountId"], "time": record["eventTime"],
        "region": record["awsRegion"], "resources": [], "detail": record,
    })
}

fn write(name: &str, v: &Value) -> String {
    let path = format!(
        "{}/security-hub-{name}-{}.json",
        env!("CARGO_TARGET_TMPDIR"),
        std::process::id()
    );
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_one_asff_finding_per_share_updated_by_a_repeat_and_resolved_by_its_removal() {
    const REGION: &str = "eu-north-1";
    let moto = moto();
    let c = support::moto::clients(moto).await;
    let topic = support::moto::topic(&c, false).await;
    let client = hub(REGION).await;
    let proxy = proxy().await;

    // The trail log: every kind of finding, eleven shares among them.
    let out = publish(LOG, &topic.arn, REGION, &proxy.endpoint);
    let printed = findings(&out);
    assert_eq!(printed.len(), 16, "{}", stderr(&out));
    let ids: BTreeSet<String> = printed
        .iter()
        .map(|f| {
            f["share_id"]
                .as_str()
                .or(f["finding_id"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    let hub_findings = imported(&client).await;
    assert_eq!(
        hub_findings.keys().cloned().collect::<BTreeSet<_>>(),
        ids,
        "one ASFF finding per share (and per use or attempt)"
    );
    let shares: Vec<&Value> = printed
        .iter()
        .filter(|f| f["rule"]["id"] == "4182e486-fc61-11ee-a05d-f661ea17fbce")
        .collect();
    assert_eq!(shares.len(), 5);
    for f in &printed {
        let id = f["share_id"].as_str().or(f["finding_id"].as_str()).unwrap();
        let a = &hub_findings[id];
        assert_eq!(a.schema_version(), Some("2018-10-08"));
        assert_eq!(a.generator_id(), f["rule"]["id"].as_str());
        assert_eq!(
            a.product_arn(),
            Some(
                format!("arn:aws:securityhub:{REGION}:{HUB_ACCOUNT}:product/{HUB_ACCOUNT}/default")
                    .as_str()
            )
        );
        assert_eq!(a.aws_account_id(), Some(HUB_ACCOUNT));
        assert!(!a.types().is_empty(), "{id}");
        assert!(a.created_at().is_some() && a.updated_at().is_some(), "{id}");
        assert!(a.title().is_some_and(|t| !t.is_empty()), "{id}");
        assert!(a.description().is_some_and(|d| !d.is_empty()), "{id}");
        assert!(
            a.remediation().and_then(|r| r.recommendation()).is_some(),
            "{id}"
        );
        assert_eq!(a.resources().len(), 1, "{id}");
        assert!(a
            .finding_provider_fields()
            .and_then(|p| p.severity())
            .is_some());
        assert_eq!(
            a.product_fields().unwrap()["finding_id"],
            f["finding_id"].as_str().unwrap()
        );
        let severity = a.severity().and_then(|s| s.label()).unwrap().as_str();
        assert_eq!(
            severity,
            f["rule"]["severity"].as_str().unwrap().to_uppercase()
        );
        assert_eq!(a.record_state().unwrap().as_str(), "ACTIVE");
    }
    let share = shares
        .iter()
        .find(|f| f["public"] == false && f["snapshotId"].is_string())
        .expect("a share with another account");
    let share_id = share["share_id"].as_str().unwrap();
    let a = &hub_findings[share_id];
    assert_eq!(
        a.severity().and_then(|s| s.label()).unwrap().as_str(),
        "LOW"
    );
    let call = a.action().unwrap().aws_api_call_action().unwrap();
    assert_eq!(call.api(), Some("ModifySnapshotAttribute"));
    assert!(a.resources()[0]
        .id()
        .unwrap()
        .ends_with(share["snapshotId"].as_str().unwrap()));
    let _ = support::moto::receive(&c, &topic, 16).await;

    // The same share's event again, as EventBridge delivers it: the finding is updated.
    let record = &records()[share["event"]["id"].as_str().unwrap()];
    let repeat = write("repeat", &eventbridge(record));
    publish(&repeat, &topic.arn, REGION, &proxy.endpoint);
    let after = imported(&client).await;
    assert_eq!(
        after.len(),
        hub_findings.len(),
        "the repeat made no new finding"
    );
    assert_eq!(after[share_id].record_state().unwrap().as_str(), "ACTIVE");
    let _ = support::moto::receive(&c, &topic, 1).await;

    // Its removal, an hour later: the finding is archived and resolved, and SNS says so.
    let target = share["userId"].as_str().unwrap();
    let mut removal = record.clone();
    removal["eventID"] = json!("9f1c2d3e-0000-4a5b-8c7d-6e5f4a3b2c1d");
    removal["eventTime"] = json!("2099-01-01T00:00:00Z");
    removal["requestParameters"]["createVolumePermission"] =
        json!({"remove": {"items": [{"userId": target}]}});
    let removed = write("removal", &eventbridge(&removal));
    let out = publish(&removed, &topic.arn, REGION, &proxy.endpoint);
    let printed = findings(&out);
    assert_eq!(printed.len(), 1, "{}", stderr(&out));
    assert_eq!(printed[0]["status"], "resolved");
    assert_eq!(printed[0]["share_id"], share_id);
    let after = imported(&client).await;
    assert_eq!(
        after.len(),
        hub_findings.len(),
        "the resolution made no new finding"
    );
    let resolved = &after[share_id];
    assert_eq!(resolved.record_state().unwrap().as_str(), "ARCHIVED");
    assert_eq!(
        resolved
            .workflow()
            .and_then(|w| w.status())
            .unwrap()
            .as_str(),
        "RESOLVED"
    );
    let others = after.values().filter(|f| f.id() != Some(share_id));
    assert!(others
        .into_iter()
        .all(|f| f.record_state().unwrap().as_str() == "ACTIVE"));
    // Archiving does not resolve an existing finding: the workflow is set as its users set it.
    let asked = proxy.heard(BATCH_UPDATE);
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].contains(share_id) && asked[0].contains("RESOLVED"),
        "{}",
        asked[0]
    );
    let got = support::moto::receive(&c, &topic, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].attributes["status"].1, "resolved");
    assert_eq!(got[0].finding.share_id.as_deref(), Some(share_id));
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_a_finding_security_hub_refuses_fails_the_scan_after_its_retries() {
    let moto = moto();
    let proxy = proxy().await;
    // The share's id, from a scan that publishes nothing.
    let out = bin()
        .args([
            "scan",
            "--format",
            "json",
            "events/eventbridge-share-foreign-account.json",
        ])
        .output()
        .unwrap();
    let id = findings(&out)[0]["share_id"].as_str().unwrap().to_owned();
    let refused = json!({
        "FailedCount": 1, "SuccessCount": 0,
        "FailedFindings": [{"Id": id, "ErrorCode": "InvalidInput",
            "ErrorMessage": "Finding does not adhere to Amazon Finding Format."}]
    });
    proxy.answer_as(
        &["POST /findings/import"],
        200,
        "application/json",
        &refused.to_string(),
    );
    let out = bin()
        .args([
            "scan",
            "--publish",
            "events/eventbridge-share-foreign-account.json",
        ])
        .env("SECURITY_HUB", "true")
        .at_moto(&proxy.endpoint)
        .env("AWS_REGION", "eu-south-1")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("InvalidInput") && err.contains(&id), "{err}");
    assert_eq!(proxy.heard("POST /findings/import").len(), 3, "three tries");
    let _ = moto;
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_in_the_lambda_emulator_a_share_becomes_a_finding_and_its_removal_resolves_it() {
    require_cargo_lambda();
    const REGION: &str = "eu-west-3";
    let moto = moto();
    let c = support::moto::clients(moto).await;
    let topic = support::moto::topic(&c, false).await;
    let client = hub(REGION).await;
    let proxy = proxy().await;
    let port = free_port();
    let watch = start_watch(
        port,
        &proxy.endpoint,
        &topic.arn,
        &[("SECURITY_HUB", "true"), ("AWS_REGION", REGION)],
    );
    let call = |file: &str| {
        let out = tokio::task::block_in_place(|| invoke(port, std::path::Path::new(file)));
        assert!(
            out.status.success(),
            "{}\n{}",
            stderr(&out),
            read(&watch.log)
        );
    };

    call("events/eventbridge-share-foreign-account.json");
    let found = imported(&client).await;
    assert_eq!(found.len(), 1, "{}", read(&watch.log));
    let (id, finding) = found.iter().next().unwrap();
    assert_eq!(finding.record_state().unwrap().as_str(), "ACTIVE");
    assert_eq!(
        finding.severity().and_then(|s| s.label()).unwrap().as_str(),
        "LOW"
    );

    call("events/eventbridge-share-removed.json");
    let found = imported(&client).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[id].record_state().unwrap().as_str(), "ARCHIVED");
    assert_eq!(
        found[id]
            .workflow()
            .and_then(|w| w.status())
            .unwrap()
            .as_str(),
        "RESOLVED"
    );
    assert!(proxy.heard(BATCH_UPDATE)[0].contains(id.as_str()));
    let got = support::moto::receive(&c, &topic, 2).await;
    let statuses: Vec<&str> = got
        .iter()
        .map(|m| m.attributes["status"].1.as_str())
        .collect();
    assert_eq!(statuses, ["open", "resolved"]);
}
