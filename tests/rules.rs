//! The other doors of the technique, case by case: the AMI share, the RDS and Aurora snapshot
//! shares, block public access switched off, and failed attempts at any share. One row per
//! case, each naming why it expects what it does; then the real records of the corpus
//! (tests/fixtures/rules/, sources in tests/fixtures/SOURCES.md).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::{json, Value};
use snapshot_share_detector::cloudtrail::Record;
use snapshot_share_detector::finding::{Finding, ResourceType};
use snapshot_share_detector::rule::TrustedAccounts;
use snapshot_share_detector::rule::{self, attempt, image, protection, rds, share, used};

const OWNER: &str = "111111111111";
const FOREIGN: &str = "222222222222";
const TRUSTED: &str = "333333333333";
const ORG: &str = "arn:aws:organizations::444444444444:organization/o-abcdefghij";
const OU: &str = "arn:aws:organizations::444444444444:ou/o-abcdefghij/ou-ab12-cd34ef56";

fn record(source: &str, name: &str, params: Value) -> Value {
    json!({
        "eventVersion": "1.08", "eventID": "e-1", "eventTime": "2026-11-30T10:00:00Z",
        "eventSource": source, "eventName": name, "awsRegion": "eu-west-1",
        "recipientAccountId": OWNER,
        "userIdentity": {"type": "IAMUser", "accountId": OWNER,
                         "arn": "arn:aws:iam::111111111111:user/mallory"},
        "requestParameters": params,
    })
}

fn image_share(items: Value) -> Value {
    record(
        "ec2.amazonaws.com",
        "ModifyImageAttribute",
        json!({"imageId": "ami-1", "attributeType": "launchPermission",
               "launchPermission": {"add": {"items": items}}}),
    )
}

fn db_share(name: &str, id_key: &str, values: Value) -> Value {
    record(
        "rds.amazonaws.com",
        name,
        json!({id_key: "db-1", "attributeName": "restore", "valuesToAdd": values}),
    )
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn findings(raw: &Value) -> Vec<Finding> {
    let trusted = TrustedAccounts::parse(TRUSTED);
    rule::detect(&Record::new(raw).unwrap(), None, &trusted, None)
}

/// (rule id, userId) of every finding of `raw`.
fn verdict(raw: &Value) -> Verdict {
    findings(raw)
        .into_iter()
        .map(|f| {
            let rule = rule::of(&f).expect("a registry rule");
            let kind = if f.is_resolution() {
                "resolved"
            } else {
                rule.identity.kind
            };
            (kind, f.user_id)
        })
        .collect()
}

/// What a record gave: (kind, userId) of each finding.
type Verdict = Vec<(&'static str, String)>;

fn shares(targets: &[&str]) -> Verdict {
    targets.iter().map(|t| ("share", t.to_string())).collect()
}

/// Resolutions: the shares with `targets` ended.
fn resolutions(targets: &[&str]) -> Verdict {
    targets
        .iter()
        .map(|t| ("resolved", t.to_string()))
        .collect()
}

fn attempts(targets: &[&str]) -> Verdict {
    targets.iter().map(|t| ("attempt", t.to_string())).collect()
}

#[test]
fn the_ami_rule_case_by_case() {
    let failed = with(
        image_share(json!([{"userId": FOREIGN}])),
        "errorCode",
        json!("UnauthorizedOperation"),
    );
    let mut marketplace = image_share(json!([{"userId": FOREIGN}]));
    marketplace["userIdentity"]["invokedBy"] = json!("assets.marketplace.amazonaws.com");
    let removal = record(
        "ec2.amazonaws.com",
        "ModifyImageAttribute",
        json!({"imageId": "ami-1", "attributeType": "launchPermission",
               "launchPermission": {"remove": {"items": [{"userId": FOREIGN}]}}}),
    );
    let description = record(
        "ec2.amazonaws.com",
        "ModifyImageAttribute",
        json!({"imageId": "ami-1", "attributeType": "description", "description": {"value": "x"}}),
    );
    let cases: Vec<(&str, Value, Verdict)> = vec![
        (
            "a foreign account",
            image_share(json!([{"userId": FOREIGN}])),
            shares(&[FOREIGN]),
        ),
        (
            "everyone",
            image_share(json!([{"group": "all"}])),
            shares(&["all"]),
        ),
        (
            "an organization",
            image_share(json!([{"organizationArn": ORG}])),
            shares(&[ORG]),
        ),
        (
            "an OU",
            image_share(json!([{"organizationalUnitArn": OU}])),
            shares(&[OU]),
        ),
        (
            "one finding per target, once each, in order",
            image_share(json!([{"userId": FOREIGN}, {"group": "all"}, {"userId": FOREIGN}])),
            shares(&[FOREIGN, "all"]),
        ),
        (
            "the owner itself",
            image_share(json!([{"userId": OWNER}])),
            vec![],
        ),
        (
            "a trusted account",
            image_share(json!([{"userId": TRUSTED}])),
            vec![],
        ),
        (
            "a removal resolves the share",
            removal,
            resolutions(&[FOREIGN]),
        ),
        ("another attribute", description, vec![]),
        ("Marketplace's own call (as Elastic)", marketplace, vec![]),
        (
            "a failed call: an attempt, not a share",
            failed,
            attempts(&[FOREIGN]),
        ),
    ];
    for (why, raw, want) in cases {
        assert_eq!(verdict(&raw), want, "{why}");
    }
}

#[test]
fn the_rds_rule_case_by_case() {
    for (name, key, kind) in [
        (
            "ModifyDBSnapshotAttribute",
            "dBSnapshotIdentifier",
            ResourceType::DbSnapshot,
        ),
        (
            "ModifyDBClusterSnapshotAttribute",
            "dBClusterSnapshotIdentifier",
            ResourceType::DbClusterSnapshot,
        ),
    ] {
        let share = db_share(name, key, json!([FOREIGN, "all", OWNER, TRUSTED]));
        assert_eq!(verdict(&share), shares(&[FOREIGN, "all"]), "{name}");
        let f = &findings(&share)[0];
        assert_eq!(
            (f.resource.kind, f.resource.id.as_deref()),
            (kind, Some("db-1"))
        );
        assert_eq!(f.rule.id, rds::IDENTITY.id);
        let removal = record(
            "rds.amazonaws.com",
            name,
            json!({key: "db-1", "attributeName": "restore", "valuesToRemove": [FOREIGN]}),
        );
        assert_eq!(
            verdict(&removal),
            resolutions(&[FOREIGN]),
            "{name}: a removal resolves the share"
        );
        let other = record(
            "rds.amazonaws.com",
            name,
            json!({key: "db-1", "attributeName": "other", "valuesToAdd": [FOREIGN]}),
        );
        assert_eq!(verdict(&other), vec![], "{name}: another attribute");
        // RDS refuses to make an encrypted snapshot public: an attempt.
        let refused = with(
            db_share(name, key, json!(["all"])),
            "errorCode",
            json!("InvalidParameterValue"),
        );
        assert_eq!(verdict(&refused), attempts(&["all"]), "{name}: refused");
    }
}

#[test]
fn block_public_access_switched_off_or_weakened() {
    let call = |name: &str, params: Value| record("ec2.amazonaws.com", name, params);
    let off = |v: &Value| verdict(v) == [("protection-off", "all".to_owned())];
    assert!(off(&call("DisableSnapshotBlockPublicAccess", json!({}))));
    assert!(off(&call("DisableImageBlockPublicAccess", json!({}))));
    assert!(off(&call(
        "EnableSnapshotBlockPublicAccess",
        json!({"state": "block-new-sharing"})
    )));
    // The state one level down, in the request's wrapper.
    let wrapped = json!({"EnableSnapshotBlockPublicAccessRequest": {"State": "block-new-sharing"}});
    assert!(off(&call("EnableSnapshotBlockPublicAccess", wrapped)));
    // A record that does not say which state: nothing.
    let unsaid = call("EnableSnapshotBlockPublicAccess", json!({}));
    assert_eq!(verdict(&unsaid), vec![], "{unsaid}");
    // Switched back on to the strongest state (images have one): what a finding reported
    // ended, in that account and region.
    let resolved = vec![("resolved", "all".to_owned())];
    for (name, params) in [
        (
            "EnableSnapshotBlockPublicAccess",
            json!({"state": "block-all-sharing"}),
        ),
        (
            "EnableImageBlockPublicAccess",
            json!({"imageBlockPublicAccessState": "block-new-sharing"}),
        ),
    ] {
        let on = call(name, params);
        assert_eq!(verdict(&on), resolved, "{on}");
        let off = call(&name.replace("Enable", "Disable"), json!({}));
        let (on, off) = (&findings(&on)[0], &findings(&off)[0]);
        assert!(on.share_id.is_some());
        assert_eq!(
            on.share_id, off.share_id,
            "{name} closes what the switch-off opened"
        );
        assert!(on.message.contains("switched back on"), "{}", on.message);
    }
    let failed = with(
        call("DisableSnapshotBlockPublicAccess", json!({})),
        "errorCode",
        json!("AccessDenied"),
    );
    assert_eq!(verdict(&failed), vec![]);
    let f = &findings(&call("DisableSnapshotBlockPublicAccess", json!({})))[0];
    assert_eq!(f.rule.id, protection::IDENTITY.id);
    assert_eq!(f.resource.kind, ResourceType::SnapshotBlockPublicAccess);
    let v: Value = serde_json::from_str(&f.to_json()).unwrap();
    assert_eq!(v["operationType"], "disable");
    assert_eq!(v["attributeType"], "unblocked");
    assert!(
        f.message.contains("switched off (now unblocked)"),
        "{}",
        f.message
    );
}

#[test]
fn a_failed_share_is_an_attempt_with_its_error() {
    let failed = with(
        with(
            record(
                "ec2.amazonaws.com",
                "ModifySnapshotAttribute",
                json!({"snapshotId": "snap-1", "attributeType": "CREATE_VOLUME_PERMISSION",
                       "createVolumePermission": {"add": {"items": [{"group": "all"}, {"userId": OWNER}]}}}),
            ),
            "errorCode",
            json!("OperationNotPermitted"),
        ),
        "errorMessage",
        json!("Encrypted snapshots with EBS default key cannot be shared"),
    );
    let got = findings(&failed);
    assert_eq!(got.len(), 1, "the owner itself is no target");
    let f = &got[0];
    assert_eq!(f.rule.id, attempt::IDENTITY.id);
    assert!(f.rule.risk_score < 21, "below every share");
    let v: Value = serde_json::from_str(&f.to_json()).unwrap();
    assert_eq!(v["event"]["outcome"], "failure");
    assert_eq!(v["error"]["code"], "OperationNotPermitted");
    assert!(
        f.message
            .contains("could not be made public (OperationNotPermitted)"),
        "{}",
        f.message
    );
    // A successful share gives no attempt, and its finding says success, with no error.
    let ok: Value = {
        let mut v = failed.clone();
        v.as_object_mut().unwrap().remove("errorCode");
        v.as_object_mut().unwrap().remove("errorMessage");
        v
    };
    let f = &findings(&ok)[0];
    assert_eq!(rule::of(f).unwrap().identity.kind, "share");
    let v: Value = serde_json::from_str(&f.to_json()).unwrap();
    assert_eq!(v["event"]["outcome"], "success");
    assert!(v.get("error").is_none());
}

fn fixture(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("tests/fixtures/rules/{name}")).unwrap();
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(records)) => records,
        _ => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    }
}

#[test]
fn the_real_records_give_the_verdicts_their_sources_state() {
    let stratus_ami = fixture("stratus-red-team_detonation_aws.exfiltration.ec2-share-ami.json");
    assert_eq!(verdict(&stratus_ami[0]), shares(&["846424999548"]));
    assert_eq!(findings(&stratus_ami[0])[0].rule.id, image::IDENTITY.id);
    let stratus_rds =
        fixture("stratus-red-team_detonation_aws.exfiltration.rds-share-snapshot.json");
    assert_eq!(verdict(&stratus_rds[0]), shares(&["503161813013"]));
    // Panther's AMI tests, in their order: public; group not-all; another attribute; userId
    // "bob" (not the owner, so foreign); a failed public add; a foreign account.
    let panther: Vec<_> = fixture("panther_aws_ami_modified_for_public_access.tests.ndjson")
        .iter()
        .map(verdict)
        .collect();
    assert_eq!(
        panther,
        [
            shares(&["all"]),
            vec![],
            vec![],
            shares(&["bob"]),
            attempts(&["all"]),
            shares(&["012345678901"]),
        ]
    );
    let panther_rds: Vec<_> = fixture("panther_aws_rds_snapshot_shared.tests.ndjson")
        .iter()
        .map(verdict)
        .collect();
    assert_eq!(panther_rds, [shares(&["193672423079"]), vec![]]);
}

#[test]
fn every_rule_finding_has_its_texts() {
    let raws = [
        image_share(json!([{"userId": FOREIGN}, {"organizationArn": ORG}])),
        db_share(
            "ModifyDBSnapshotAttribute",
            "dBSnapshotIdentifier",
            json!(["all"]),
        ),
        record(
            "ec2.amazonaws.com",
            "DisableImageBlockPublicAccess",
            json!({}),
        ),
        with(
            image_share(json!([{"group": "all"}])),
            "errorCode",
            json!("AccessDenied"),
        ),
    ];
    for raw in &raws {
        for f in findings(raw) {
            let subject = snapshot_share_detector::sink::message::subject(&f);
            assert!(subject.len() < 100 && subject.starts_with('['), "{subject}");
            let text = snapshot_share_detector::sink::message::email_text(&f);
            assert!(text.contains("What to do next\n  1. "), "{text}");
            assert!(text.contains(&f.finding_id), "{text}");
        }
    }
    // The command a responder runs names the right API.
    let ami = &findings(&raws[0])[0];
    let text = snapshot_share_detector::sink::message::email_text(ami);
    assert!(text.contains("aws ec2 modify-image-attribute --image-id ami-1 --launch-permission \"Remove=[{UserId=222222222222}]\" --region eu-west-1"), "{text}");
    let org = &findings(&raws[0])[1];
    let text = snapshot_share_detector::sink::message::email_text(org);
    assert!(text.contains("it may be your own"), "{text}");
    let db = &findings(&raws[1])[0];
    let text = snapshot_share_detector::sink::message::email_text(db);
    assert!(text.contains("aws rds modify-db-snapshot-attribute --db-snapshot-identifier db-1 --attribute-name restore --values-to-remove all"), "{text}");
    let bpa = &findings(&raws[2])[0];
    let text = snapshot_share_detector::sink::message::email_text(bpa);
    assert!(text.contains("enable-image-block-public-access"), "{text}");
}

#[test]
fn documented_flows_of_aws_services_are_trusted_unless_configured_otherwise() {
    // GuardDuty Malware Protection shares its scan snapshot with the GuardDuty service account
    // through its service-linked role (only the service can assume one).
    let mut guardduty = record(
        "ec2.amazonaws.com",
        "ModifySnapshotAttribute",
        json!({"snapshotId": "snap-gd", "attributeType": "CREATE_VOLUME_PERMISSION",
               "createVolumePermission": {"add": {"items": [{"userId": FOREIGN}]}}}),
    );
    guardduty["userIdentity"] = json!({
        "type": "AssumedRole", "accountId": OWNER,
        "arn": "arn:aws:sts::111111111111:assumed-role/AWSServiceRoleForAmazonGuardDutyMalwareProtection/GuardDuty",
        "sessionContext": {"sessionIssuer": {"type": "Role",
            "arn": "arn:aws:iam::111111111111:role/aws-service-role/malware-protection.guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDutyMalwareProtection"}}
    });
    let mut marketplace = image_share(json!([{"userId": FOREIGN}]));
    marketplace["userIdentity"]["invokedBy"] = json!("assets.marketplace.amazonaws.com");
    // AWS Backup acting through a role: not a documented benign flow (whoever can configure a
    // copy job chooses the destination), so a finding that names the service.
    let mut backup = guardduty.clone();
    backup["userIdentity"]["invokedBy"] = json!("backup.amazonaws.com");
    backup["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        json!("arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole");

    // Data Lifecycle Manager and Image Builder share with the accounts their policy names:
    // findings too.
    let mut dlm = backup.clone();
    dlm["userIdentity"]["invokedBy"] = json!("dlm.amazonaws.com");
    let mut image_builder = image_share(json!([{"userId": FOREIGN}]));
    image_builder["userIdentity"]["invokedBy"] = json!("imagebuilder.amazonaws.com");

    let defaults = TrustedAccounts::parse(TRUSTED);
    let none = TrustedAccounts::parse(TRUSTED).with_services("");
    let count = |raw: &Value, trusted: &TrustedAccounts| {
        rule::detect(&Record::new(raw).unwrap(), None, trusted, None).len()
    };
    assert_eq!(count(&guardduty, &defaults), 0, "GuardDuty's scan snapshot");
    assert_eq!(
        count(&marketplace, &defaults),
        0,
        "Marketplace's AMI ingestion"
    );
    assert_eq!(count(&backup, &defaults), 1, "AWS Backup");
    assert_eq!(count(&dlm, &defaults), 1, "Data Lifecycle Manager");
    assert_eq!(count(&image_builder, &defaults), 1, "Image Builder");
    assert_eq!(count(&guardduty, &none), 1, "TRUSTED_SERVICES empty");
    assert_eq!(count(&marketplace, &none), 1, "TRUSTED_SERVICES empty");
    let f = &rule::detect(&Record::new(&backup).unwrap(), None, &defaults, None)[0];
    let text = snapshot_share_detector::sink::message::email_text(f);
    assert!(
        text.contains("Through the service  backup.amazonaws.com")
            || text.contains("backup.amazonaws.com"),
        "{text}"
    );
}

#[test]
fn scan_of_a_trail_log_mixing_every_kind_gives_one_finding_per_target() {
    // The corpus' 892 real records and block public access switched off for snapshots and for
    // AMIs (tests/fixtures/rules/every_kind.py builds it); the Lambda emulator's S3 samples
    // read the same file (tests/lambda_watch.rs).
    let out = Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
        .args([
            "scan",
            "--format",
            "json",
            "tests/fixtures/rules/every-kind.Records.json.gz",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = support::output::findings(&out);
    let mut kinds = BTreeMap::new();
    let mut targets = BTreeSet::new();
    for f in &found {
        let rule = rule::RULES
            .iter()
            .find(|r| r.identity.id == f["rule"]["id"])
            .unwrap_or_else(|| panic!("a finding of no registry rule: {f}"));
        *kinds.entry(rule.identity.id).or_insert(0) += 1;
        // One finding per (rule, event, resource, target): no target reported twice. The
        // resource is in the key because Panther's test records reuse `eventID` 1111 for an
        // AMI's and a snapshot's failed attempt to go public (CloudTrail never does).
        let resource = ["snapshotId", "imageId", "dbSnapshotIdentifier"]
            .iter()
            .find_map(|k| f[*k].as_str())
            .unwrap_or_default();
        let key = (
            rule.identity.id,
            f["event"]["id"].to_string(),
            resource.to_owned(),
            f["userId"].to_string(),
        );
        assert!(targets.insert(key), "reported twice: {f}");
    }
    // 5 snapshot shares, 1 use, 4 AMI and 2 RDS shares, 2 failed attempts, 2 switches.
    let expected: BTreeMap<&str, usize> = [
        (share::IDENTITY.id, 5),
        (used::IDENTITY.id, 1),
        (image::IDENTITY.id, 4),
        (rds::IDENTITY.id, 2),
        (attempt::IDENTITY.id, 2),
        (protection::IDENTITY.id, 2),
    ]
    .into();
    assert_eq!(kinds, expected, "{found:#?}");
}
