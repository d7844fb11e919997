//! `scan --format ocsf` and the OCSF mapping, validated against the OCSF 1.1.0 schema (the
//! part of its source under tests/fixtures/ocsf/1.1.0, see tests/fixtures/SOURCES.md) by
//! support::ocsf: every line a valid Detection Finding, one per share, with the values the
//! finding has; a removal a Close of the share it names; an audit finding's state read as its
//! evidence. And the validator itself fails a broken finding.

mod support;

use std::process::{Command, Output};

use serde_json::{json, Value};
use snapshot_share_detector::finding::{
    AuditInfo, Change, Detection, Finding, Observation, Resource, ResourceType, Status, Target,
};
use snapshot_share_detector::rule::exposure;
use support::ocsf::Schema;

const CLASS: &str = "detection_finding";
const EVERY_KIND: &str = "tests/fixtures/rules/every-kind.Records.json.gz";

fn scan(format: &str, path: &str) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
        .args(["scan", "--quiet", "--format", format, path])
        .env_remove("TRUSTED_ACCOUNT_IDS")
        .env_remove("FINDINGS_TOPIC_ARN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    out
}

/// The OCSF lines of a scan of `path`, each checked against the schema, beside the same
/// findings as JSON.
fn valid_pairs(path: &str) -> Vec<(Value, Value)> {
    let schema = Schema::load("1.1.0");
    let ocsf = support::output::findings(&scan("ocsf", path));
    let json = support::output::findings(&scan("json", path));
    assert_eq!(ocsf.len(), json.len());
    for event in &ocsf {
        let errors = schema.validate(CLASS, event);
        assert!(errors.is_empty(), "{event:#}\n{}", errors.join("\n"));
    }
    ocsf.into_iter().zip(json).collect()
}

#[test]
fn every_kind_gives_one_valid_detection_finding_per_share() {
    let pairs = valid_pairs(EVERY_KIND);
    assert_eq!(pairs.len(), 16);
    let mut uids = std::collections::BTreeSet::new();
    let mut lifecycles = std::collections::BTreeSet::new();
    for (o, j) in &pairs {
        // The finding, key by key where OCSF has a home for it.
        assert_eq!(o["class_uid"], 2004);
        assert_eq!(o["category_uid"], 2);
        assert_eq!(o["metadata"]["uid"], j["finding_id"]);
        let lifecycle = j.get("share_id").unwrap_or(&j["finding_id"]);
        assert_eq!(o["finding_info"]["uid"], *lifecycle);
        lifecycles.insert(lifecycle.as_str().unwrap().to_owned());
        assert_eq!(o["finding_info"]["analytic"]["uid"], j["rule"]["id"]);
        assert_eq!(o["finding_info"]["title"], j["rule"]["name"]);
        assert_eq!(o["message"], j["message"]);
        assert_eq!(o["time_dt"], j["@timestamp"]);
        assert_eq!(o["risk_score"], j["rule"]["risk_score"]);
        let severity = match j["rule"]["severity"].as_str().unwrap() {
            "low" => (2, "Low"),
            "medium" => (3, "Medium"),
            "high" => (4, "High"),
            other => panic!("severity {other}"),
        };
        assert_eq!(
            (o["severity_id"].clone(), o["severity"].clone()),
            (json!(severity.0), json!(severity.1))
        );
        assert_eq!(o["cloud"]["account"]["uid"], j["cloud"]["account"]["id"]);
        assert_eq!(o["cloud"]["region"], j["cloud"]["region"]);
        assert_eq!(o["unmapped"]["userId"], j["userId"]);
        assert_eq!(o["api"]["operation"], j["event"]["action"]);
        assert_eq!(o["evidences"][0]["api"], o["api"]);
        // Every finding of this log opens something: Create, New.
        assert_eq!(
            (o["type_uid"].clone(), o["status_id"].clone()),
            (json!(200401), json!(1))
        );
        uids.insert(o["finding_info"]["uid"].as_str().unwrap().to_owned());
    }
    // One uid per share, as the JSON findings have them. 15, not 16: Panther's test records
    // all have the eventID "1111", so its two failed public shares (an AMI's, a snapshot's)
    // get one finding id, in JSON as in OCSF.
    assert_eq!(uids, lifecycles);
    assert_eq!(uids.len(), 15);
}

#[test]
fn a_removal_closes_the_finding_of_the_share_it_names() {
    let pairs = valid_pairs("events/");
    let closes: Vec<&Value> = pairs
        .iter()
        .map(|(o, _)| o)
        .filter(|o| o["activity_id"] == 3)
        .collect();
    assert_eq!(closes.len(), 1, "only the removal closes");
    let close = closes[0];
    assert_eq!(close["type_uid"], 200403);
    assert_eq!(close["type_name"], "Detection Finding: Close");
    assert_eq!(
        (close["status_id"].clone(), close["status"].clone()),
        (json!(4), json!("Resolved"))
    );
    assert_eq!(close["resources"][0]["uid"], "snap-041993b54a9b3af6f");
    assert!(close["finding_info"]["modified_time"].is_u64());
    assert!(close["finding_info"].get("created_time").is_none());
    // The share the removal names was opened in this directory: the same uid, another event.
    let opened: Vec<&Value> = pairs
        .iter()
        .map(|(o, _)| o)
        .filter(|o| {
            o["finding_info"]["uid"] == close["finding_info"]["uid"] && o["activity_id"] == 1
        })
        .collect();
    assert_eq!(opened.len(), 1);
    assert_ne!(opened[0]["metadata"]["uid"], close["metadata"]["uid"]);
    assert_eq!(
        opened[0]["metadata"]["correlation_uid"],
        close["finding_info"]["uid"]
    );
}

#[test]
fn the_fields_say_what_the_record_says() {
    let pairs = valid_pairs("events/");
    let find = |pred: &dyn Fn(&Value) -> bool| {
        pairs
            .iter()
            .map(|(o, _)| o.clone())
            .find(|o| pred(o))
            .expect("no such finding")
    };
    // The organization trail's first share: everything the record gives.
    let share = find(&|o| o["unmapped"]["userId"] == "012345678912");
    assert_eq!(share["time"], 1_658_351_171_000_u64);
    assert_eq!(share["time_dt"], "2022-07-20T21:06:11Z");
    assert_eq!(share["metadata"]["version"], "1.1.0");
    assert_eq!(
        share["metadata"]["product"]["name"],
        "snapshot-share-detector"
    );
    assert_eq!(
        share["metadata"]["product"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        share["metadata"]["profiles"],
        json!(["cloud", "datetime", "host"])
    );
    assert_eq!(
        share["cloud"],
        json!({
            "provider": "AWS",
            "account": { "uid": "677301038893", "type_id": 10, "type": "AWS Account" },
            "region": "us-east-1",
        })
    );
    assert_eq!(
        share["resources"],
        json!([
            {
                "uid": "snap-00f54cf7277498559",
                "type": "ebs-snapshot",
                "region": "us-east-1",
                "owner": { "account": { "uid": "677301038893", "type_id": 10, "type": "AWS Account" } },
            },
            { "uid": "012345678912", "type": "account", "labels": ["target"] },
        ])
    );
    let user = &share["actor"]["user"];
    assert_eq!(
        user["uid"],
        "arn:aws:sts::677301038893:assumed-role/account-admin/christophe.tafanidereeper"
    );
    assert_eq!(user["type"], "AssumedRole");
    assert_eq!(share["api"]["operation"], "ModifySnapshotAttribute");
    assert_eq!(share["api"]["service"]["name"], "ec2.amazonaws.com");
    assert_eq!(share["evidences"][0]["actor"], share["actor"]);
    let attack = &share["finding_info"]["attacks"][0];
    assert_eq!(attack["technique"]["uid"], "T1537");
    assert_eq!(attack["tactic"]["uid"], "TA0010");
    assert_eq!(share["finding_info"]["analytic"]["type"], "Rule");
    assert_eq!(share["finding_info"]["types"], json!(["share"]));
    assert_eq!(share["finding_info"]["created_time"], share["time"]);
    assert_eq!(share["unmapped"]["public"], false);
    assert_eq!(
        share["unmapped"]["attributeType"],
        "CREATE_VOLUME_PERMISSION"
    );
    // A failed call: its error is the API's response; the target was everyone.
    let attempt = find(&|o| o["finding_info"]["types"] == json!(["attempt"]));
    assert_eq!(attempt["api"]["response"]["error"], "ValidationError");
    assert_eq!(
        attempt["evidences"][0]["src_endpoint"],
        json!({ "ip": "111.111.111.111" })
    );
    // A public share has no target resource: `unmapped.public` says who.
    let public = find(&|o| {
        o["unmapped"]["public"] == true && o["finding_info"]["types"] == json!(["share"])
    });
    assert_eq!(public["resources"].as_array().unwrap().len(), 1);
    // Block public access switched off: a setting, named, without an id.
    let guard = find(&|o| o["finding_info"]["types"] == json!(["protection-off"]));
    assert_eq!(
        guard["resources"][0]["name"],
        "EBS snapshot block public access"
    );
    assert!(guard["resources"][0].get("uid").is_none());
    // A use by a service: no user, its source a service's name, not an address.
    let used = find(&|o| o["unmapped"]["userId"] == "210987654321");
    assert!(used["actor"].get("user").is_none());
    assert_eq!(
        used["evidences"][0]["src_endpoint"],
        json!({ "svc_name": "ec2.amazonaws.com" })
    );
}

/// A finding of the audit: `rating` replaces the rule's severity, as for a public snapshot.
fn observed(target: Target, rating: Option<(&str, u32)>) -> Finding {
    let seen = Observation {
        account: "111111111111",
        region: "eu-west-1",
        action: "DescribeSnapshotAttribute",
        provider: "ec2.amazonaws.com",
        time: "2026-12-03T10:00:00Z",
    };
    let detection = Detection {
        resource: Resource::new(ResourceType::EbsSnapshot, Some("snap-1".into())),
        owner: Some("111111111111".into()),
        target,
        change: Some(Change {
            attribute: Some("createVolumePermission".into()),
            operation: "add",
        }),
        message: "EBS snapshot snap-1 of account 111111111111 is public (audit, eu-west-1)".into(),
        status: Status::Open,
    };
    let audit = AuditInfo {
        reachable: true,
        block_public_access: Some("unblocked".into()),
        analyzer: None,
    };
    Finding::observed(&exposure::IDENTITY, &seen, detection, rating, audit)
}

#[test]
fn an_audit_finding_shows_the_state_it_read() {
    let schema = Schema::load("1.1.0");
    let finding = observed(Target::Public, Some(("high", 73)));
    let o = snapshot_share_detector::ocsf::detection_finding(&finding, 0);
    let errors = schema.validate(CLASS, &o);
    assert!(errors.is_empty(), "{o:#}\n{}", errors.join("\n"));
    assert_eq!(
        (o["severity_id"].clone(), o["risk_score"].clone()),
        (json!(4), json!(73))
    );
    assert_eq!(o["time_dt"], "2026-12-03T10:00:00Z");
    // Nobody made a call the audit saw: no actor, no api; the evidence is the read.
    assert!(o.get("actor").is_none() && o.get("api").is_none());
    assert_eq!(o["metadata"]["profiles"], json!(["cloud", "datetime"]));
    assert_eq!(
        o["evidences"],
        json!([{
            "api": { "operation": "DescribeSnapshotAttribute", "service": { "name": "ec2.amazonaws.com" } },
            "data": { "reachable": true, "block_public_access": "unblocked" },
        }])
    );
    assert_eq!(o["finding_info"]["uid"], json!(finding.share_id));
    assert_eq!(o["finding_info"]["types"], json!(["exposure"]));
    // A later audit no longer seeing a share: a Close of the uid its audit opened.
    let to = Target::Account("222222222222".into());
    let open = observed(to.clone(), None);
    let snap = Resource::new(ResourceType::EbsSnapshot, Some("snap-1".into()));
    let time = "2026-12-04T10:00:00Z";
    let gone = exposure::resolution(&snap, &to, "111111111111", "eu-west-1", time);
    let c = snapshot_share_detector::ocsf::detection_finding(&gone, 0);
    assert!(schema.validate(CLASS, &c).is_empty());
    assert_eq!(
        (c["type_uid"].clone(), c["status"].clone()),
        (json!(200403), json!("Resolved"))
    );
    assert_eq!(c["finding_info"]["uid"], json!(open.share_id));
    assert_eq!(c["finding_info"]["modified_time_dt"], time);
    assert_eq!(c["evidences"][0]["data"]["reachable"], false);
    assert_eq!(
        c["resources"][1],
        json!({ "uid": "222222222222", "type": "account", "labels": ["target"] })
    );
}

#[test]
fn a_finding_without_a_time_takes_the_time_it_was_made() {
    let mut finding = observed(Target::Public, None);
    finding.timestamp = None;
    finding.event.original_time = Some("yesterday".into());
    let o = snapshot_share_detector::ocsf::detection_finding(&finding, 1_700_000_000_000);
    assert!(Schema::load("1.1.0").validate(CLASS, &o).is_empty());
    assert_eq!(o["time"], 1_700_000_000_000_u64);
    assert!(o.get("time_dt").is_none() && o["finding_info"].get("created_time").is_none());
    assert_eq!(o["metadata"]["original_time"], "yesterday");
    assert_eq!(o["metadata"]["profiles"], json!(["cloud"]));
}

/// `v` with the value at `pointer` (RFC 6901) replaced by `to`, or removed when `to` is null.
fn edited(v: &Value, pointer: &str, to: Value) -> Value {
    let mut v = v.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let Some(Value::Object(map)) = v.pointer_mut(parent) else {
        panic!("{parent} is not an object in {v}");
    };
    match to {
        Value::Null => map.remove(key),
        to => map.insert(key.to_owned(), to),
    };
    v
}

/// Each edit of a valid finding (what, where, to what: null removes), and what the validator
/// must say of it.
#[rustfmt::skip]
const BROKEN: &[(&str, &str, &str, &str)] = &[
    ("a required key missing", "/finding_info/uid", "null", "finding_info.uid: required"),
    ("a profile's required key missing", "/cloud", "null", "cloud: required by detection_finding"),
    ("a nested one", "/metadata/product/vendor_name", "null", "metadata.product.vendor_name: required"),
    ("a made-up key", "/verdict", r#""bad""#, "verdict: not an attribute of detection_finding"),
    ("a made-up key in an object", "/cloud/zone_name", r#""a""#, "cloud.zone_name: not an attribute of cloud"),
    ("an enum value that is none", "/severity_id", "7", "severity_id: 7 is not a value"),
    ("a caption not the value's", "/severity", r#""High""#, "sibling severity"),
    ("a type_uid of another activity", "/type_uid", "200402", "type_uid: 200402"),
    ("a string for a timestamp", "/time", r#""2022-07-20""#, "time: \"2022-07-20\" is not a long_t"),
    ("a datetime not RFC 3339", "/time_dt", r#""2022-07-20 21:06:11""#, "time_dt: "),
    ("an address that is none", "/evidences/0/src_endpoint/ip", r#""253.76.43""#, "src_endpoint.ip"),
    ("an object for an array", "/resources", "{}", "resources: not an array"),
    ("a profile's key without it", "/metadata/profiles", r#"["cloud","datetime"]"#, "actor: not an attribute"),
    ("a constraint broken", "/actor/user", r#"{"type":"IAMUser"}"#, "user constraint at_least_one"),
    ("another class", "/class_uid", "2001", "class_uid: 2001 is not a value"),
    ("another version", "/metadata/version", r#""1.8.0""#, "metadata.version"),
];

#[test]
fn the_validator_fails_a_broken_finding() {
    let schema = Schema::load("1.1.0");
    let good = &valid_pairs("events/eventbridge-share-foreign-account.json")[0].0;
    assert!(schema.validate(CLASS, good).is_empty());
    for (what, pointer, to, says) in BROKEN {
        let broken = edited(good, pointer, serde_json::from_str(to).unwrap());
        let errors = schema.validate(CLASS, &broken);
        assert!(
            errors.iter().any(|e| e.contains(says)),
            "{what}: {errors:#?}"
        );
    }
    // What has no home goes under `unmapped`, which takes anything.
    let extra = edited(good, "/unmapped/anything", json!({ "at": ["all"] }));
    assert!(schema.validate(CLASS, &extra).is_empty());
}

/// `audit --format ocsf` against moto: a snapshot of an account of the test's own, shared with
/// another account and made public. Each exposure a valid Detection Finding, rated as the audit
/// rates it, with the read of its permission as its evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_audit_prints_each_exposure_as_a_valid_detection_finding() {
    use support::moto::AtMoto;
    use support::seed::{account, block_public_access, enter, snapshot};
    const ROLE: &str = "snapshot-share-detector-audit";
    const FOREIGN: &str = "222222222222";
    let (acct, region) = (account(41), "us-east-1");
    let ec2 = aws_sdk_ec2::Client::new(&enter(&acct, region).await);
    let id = snapshot(&ec2, region, &[FOREIGN], true).await;
    let upstream = support::moto::moto().endpoint.trim_start_matches("http://");
    let proxy = support::proxy::Proxy::start(upstream).await;
    block_public_access(&proxy, &[(region, "unblocked")]);
    let args = ["--account", &acct, "--role-name", ROLE, "--region", region];
    let out = Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
        .args(["audit", "--quiet", "--format", "ocsf"])
        .args(args)
        .at_moto(&proxy.endpoint)
        .env_remove("FINDINGS_TOPIC_ARN")
        .env_remove("TRUSTED_ACCOUNT_IDS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let schema = Schema::load("1.1.0");
    let lines = support::output::findings(&out);
    let mut rated = Vec::new();
    for o in &lines {
        let errors = schema.validate(CLASS, o);
        assert!(errors.is_empty(), "{o:#}\n{}", errors.join("\n"));
        assert_eq!(o["resources"][0]["uid"], id.as_str());
        assert_eq!(o["cloud"]["account"]["uid"], acct.as_str());
        assert_eq!(o["finding_info"]["types"], json!(["exposure"]));
        let read = &o["evidences"][0]["api"]["operation"];
        assert_eq!(*read, "DescribeSnapshotAttribute");
        assert!(o.get("actor").is_none() && o.get("api").is_none());
        let to = o["unmapped"]["userId"].as_str().unwrap().to_owned();
        rated.push((to, o["severity"].as_str().unwrap().to_owned()));
    }
    rated.sort();
    let want = [(FOREIGN, "Medium"), ("all", "High")].map(|(t, s)| (t.to_owned(), s.to_owned()));
    assert_eq!(rated, want, "{stderr}");
}
