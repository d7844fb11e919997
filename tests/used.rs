//! The second rule: another account copied a shared snapshot or created a volume from it
//! (`SharedSnapshotCopyInitiated`, `SharedSnapshotVolumeCreated`), on the real records found
//! (tests/fixtures/SOURCES.md), on every record of the corpus, through the prefilter, and the
//! finding it gives (with `@timestamp` normalised to RFC 3339 UTC).

use std::io::Read;

use flate2::read::GzDecoder;
use serde_json::{json, Value};
use snapshot_share_detector::cloudtrail::Record;
use snapshot_share_detector::finding::{normalize_time, Finding};
use snapshot_share_detector::rule::{self, Prefilter, TrustedAccounts};
use snapshot_share_detector::sink::message;
use snapshot_share_detector::trigger::envelope::for_each_record;

const RULE_ID: &str = rule::share::IDENTITY.id;
const USED_RULE_ID: &str = rule::used::IDENTITY.id;
const USED_SEVERITY: &str = rule::used::IDENTITY.severity;
const USED_RISK_SCORE: u32 = rule::used::IDENTITY.risk_score;

const OWNER: &str = "111111111111";
const USER: &str = "999999999999";

fn stratus_example() -> Value {
    let text = std::fs::read_to_string(
        "tests/fixtures/corpus/stratus-red-team_docs_SharedSnapshotCopyInitiated.example.json",
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The plaso record: CloudTrail's `LookupEvents` item, the record itself in `CloudTrailEvent`.
fn plaso_line() -> (Value, Value) {
    let text = std::fs::read_to_string(
        "tests/fixtures/used/plaso_aws_cloudtrail.SharedSnapshotVolumeCreated.jsonl",
    )
    .unwrap();
    let line: Value = serde_json::from_str(&text).unwrap();
    let record: Value = serde_json::from_str(line["CloudTrailEvent"].as_str().unwrap()).unwrap();
    (line, record)
}

fn detect(raw: &Value, envelope: Option<&str>, trusted: &TrustedAccounts) -> Vec<Finding> {
    rule::detect(&Record::new(raw).unwrap(), envelope, trusted, None)
}

fn with(mut record: Value, pointer: &str, value: Value) -> Value {
    *record.pointer_mut(pointer).unwrap() = value;
    record
}

fn without(mut record: Value, key: &str) -> Value {
    record.as_object_mut().unwrap().remove(key);
    record
}

/// (name, why, record, envelope account, trusted, expected (using account, owner) or none).
type Case = (
    &'static str,
    &'static str,
    Value,
    Option<&'static str>,
    &'static str,
    Option<(&'static str, Option<&'static str>)>,
);

fn cases() -> Vec<Case> {
    let copy = stratus_example();
    let (_, volume) = plaso_line();
    let foreign_volume = with(
        volume.clone(),
        "/userIdentity/accountId",
        json!("210987654321"),
    );
    vec![
        (
            "stratus copy",
            "the doc example: 999999999999 copies 111111111111's snapshot",
            copy.clone(),
            None,
            "",
            Some((USER, Some(OWNER))),
        ),
        (
            "plaso volume as published",
            "anonymised: the using account is the owner's, not another",
            volume.clone(),
            None,
            "",
            None,
        ),
        (
            "plaso volume, foreign user",
            "the same real record used by another account",
            foreign_volume.clone(),
            None,
            "",
            Some(("210987654321", Some("012345678901"))),
        ),
        (
            "trusted user",
            "a backup account using what was shared with it is expected",
            copy.clone(),
            None,
            "999999999999",
            None,
        ),
        (
            "other trusted",
            "trusting someone else changes nothing",
            copy.clone(),
            None,
            "222222222222",
            Some((USER, Some(OWNER))),
        ),
        (
            "failed",
            "an error recorded means nothing happened",
            with(
                copy.clone(),
                "/eventName",
                json!("SharedSnapshotCopyInitiated"),
            )
            .as_object()
            .cloned()
            .map(|mut m| {
                m.insert("errorCode".into(), json!("Client.X"));
                Value::Object(m)
            })
            .unwrap(),
            None,
            "",
            None,
        ),
        (
            "other source",
            "only EC2 records these events",
            with(copy.clone(), "/eventSource", json!("ebs.amazonaws.com")),
            None,
            "",
            None,
        ),
        (
            "other name",
            "a name close to the two is not one of them",
            with(copy.clone(), "/eventName", json!("SharedSnapshotCopied")),
            None,
            "",
            None,
        ),
        (
            "no recipient, envelope",
            "the owner falls back to the EventBridge account, never to the user",
            without(copy.clone(), "recipientAccountId"),
            Some(OWNER),
            "",
            Some((USER, Some(OWNER))),
        ),
        (
            "no recipient, no envelope",
            "owner unknown, still a use by another account",
            without(copy.clone(), "recipientAccountId"),
            None,
            "",
            Some((USER, None)),
        ),
        (
            "no userIdentity",
            "the event exists only for a use by another account: still a finding",
            without(copy.clone(), "userIdentity"),
            None,
            "",
            Some(("unknown", Some(OWNER))),
        ),
        (
            "details as a string",
            "exporters that stringify nested objects",
            with(
                copy.clone(),
                "/serviceEventDetails",
                json!("{\"snapshotId\":\"snap-12345\"}"),
            ),
            None,
            "",
            Some((USER, Some(OWNER))),
        ),
    ]
}

#[test]
fn every_case_gives_its_verdict() {
    for (name, why, record, envelope, trusted, expect) in cases() {
        let trusted = TrustedAccounts::parse(trusted);
        let found = detect(&record, envelope, &trusted);
        let got = found.first().map(|f| {
            (
                f.user_id.clone(),
                f.cloud.account.as_ref().map(|a| a.id.clone()),
            )
        });
        let want = expect.map(|(u, o)| (u.to_owned(), o.map(str::to_owned)));
        assert_eq!(got, want, "{name}: {why}");
        assert!(found.len() <= 1, "{name}: one finding per use");
        if let Some(f) = found.first() {
            assert_eq!(f.rule.id, USED_RULE_ID, "{name}");
            // The prefilter lets every record the rule matches through.
            let bytes = serde_json::to_vec(&record).unwrap();
            assert!(Prefilter::default().may_match(&bytes), "{name}");
        }
    }
}

#[test]
fn the_finding_of_a_use() {
    let f = &detect(&stratus_example(), None, &TrustedAccounts::default())[0];
    let v: Value = serde_json::from_str(&f.to_json()).unwrap();
    assert_eq!(
        v["message"],
        "EBS snapshot snap-12345 of account 111111111111 was copied by account 999999999999"
    );
    assert_eq!(v["rule"]["id"], USED_RULE_ID);
    assert_ne!(v["rule"]["id"], RULE_ID);
    assert_eq!(v["rule"]["severity"], USED_SEVERITY);
    assert_eq!(v["rule"]["risk_score"], json!(USED_RISK_SCORE));
    assert!(
        v["rule"]["risk_score"].as_u64() > Some(21),
        "a use ranks above a share"
    );
    assert_eq!(v["rule"]["threat"]["technique"]["id"], "T1537");
    assert_eq!(v["event"]["action"], "SharedSnapshotCopyInitiated");
    assert_eq!(v["event"]["provider"], "ec2.amazonaws.com");
    assert_eq!(v["userId"], USER);
    assert_eq!(v["snapshotId"], "snap-12345");
    assert_eq!(v["cloud"]["account"]["id"], OWNER);
    assert_eq!(v["cloud"]["region"], "us-east-1");
    assert_eq!(v["@timestamp"], "2022-09-27T07:58:49Z");
    assert_eq!(v["aws"]["cloudtrail"]["event_type"], "AwsServiceEvent");
    assert_eq!(
        v["aws"]["cloudtrail"]["user_identity"]["type"],
        "AWSAccount"
    );
    assert_eq!(
        v["aws"]["cloudtrail"]["user_identity"]["invoked_by"],
        "ec2.amazonaws.com"
    );
    // Nothing of a share is invented for a use.
    for key in ["operationType", "attributeType", "public"] {
        assert!(v.get(key).is_none(), "{key}: {v}");
    }
    assert!(f.rule.id == USED_RULE_ID && !f.is_public());
    assert_eq!(message::kind(f), "use");

    let (_, volume) = plaso_line();
    let volume = with(volume, "/userIdentity/accountId", json!("210987654321"));
    let f = &detect(&volume, None, &TrustedAccounts::default())[0];
    assert_eq!(
        f.message,
        "EBS snapshot snap-0a9e1526b9b037a30 of account 012345678901 was used to create a volume \
         by account 210987654321"
    );
    assert_eq!(f.event.action, "SharedSnapshotVolumeCreated");
    assert_eq!(f.source.as_ref().unwrap().address, "ec2.amazonaws.com");
}

#[test]
fn use_ids_are_deterministic_and_never_a_share_id() {
    let record = stratus_example();
    let a = detect(&record, None, &TrustedAccounts::default());
    let b = detect(&record, Some(OWNER), &TrustedAccounts::default());
    assert_eq!(a[0].finding_id, b[0].finding_id);
    let other = with(
        record.clone(),
        "/userIdentity/accountId",
        json!("888888888888"),
    );
    assert_ne!(
        a[0].finding_id,
        detect(&other, None, &TrustedAccounts::default())[0].finding_id
    );
    // A share record with the same identity and target account gets another id.
    let share = json!({"eventSource": "ec2.amazonaws.com", "eventName": "ModifySnapshotAttribute",
        "recipientAccountId": OWNER, "requestParameters": {"snapshotId": "snap-12345",
        "createVolumePermission": {"add": {"items": [{"userId": USER}]}}}});
    let mut same = record.clone();
    same.as_object_mut().unwrap().remove("eventID");
    let s = detect(&share, None, &TrustedAccounts::default());
    assert_eq!(s.len(), 1);
    assert_ne!(s[0].finding_id, a[0].finding_id);
    assert_eq!(uuid_version(&a[0].finding_id), '5');
}

fn uuid_version(id: &str) -> char {
    id.chars().nth(14).unwrap()
}

/// Every record of the corpus: the Stratus doc example (record 890 of the assembled file) is
/// the only use; every other record gives no use finding. Checked through `rule::detect`, the
/// single entry point, and through the prefilter.
#[test]
fn the_corpus_has_exactly_one_use() {
    let mut gz = Vec::new();
    GzDecoder::new(
        std::fs::File::open("tests/fixtures/corpus/all-corpus-records.Records.json.gz").unwrap(),
    )
    .read_to_end(&mut gz)
    .unwrap();
    let value: Value = serde_json::from_slice(&gz).unwrap();
    let records = value["Records"].as_array().unwrap();
    assert_eq!(records.len(), 892);
    let prefilter = Prefilter::default();
    let mut uses = Vec::new();
    for (i, raw) in records.iter().enumerate() {
        for_each_record(raw, &mut |record, account| {
            for f in rule::detect(&record, account, &TrustedAccounts::default(), None) {
                if f.rule.id == USED_RULE_ID {
                    uses.push((i, f.user_id.clone()));
                }
                let bytes = serde_json::to_vec(raw).unwrap();
                assert!(prefilter.may_match(&bytes), "record {i}");
            }
        });
    }
    assert_eq!(uses, vec![(890, USER.to_owned())]);
}

/// The prefilter never skips a record the use rule matches, also when `\u` escapes spell the
/// letters of the event name: every letter of both names, escaped alone, and all at once.
#[test]
fn the_prefilter_passes_escaped_names() {
    let prefilter = Prefilter::default();
    for name in ["SharedSnapshotCopyInitiated", "SharedSnapshotVolumeCreated"] {
        let record = with(stratus_example(), "/eventName", json!(name));
        let plain = serde_json::to_string(&record).unwrap();
        let spellings: Vec<String> = (0..name.len())
            .map(|i| {
                let c = name.as_bytes()[i];
                format!("{}\\u{:04x}{}", &name[..i], c, &name[i + 1..])
            })
            .chain([name.bytes().map(|c| format!("\\u{c:04X}")).collect()])
            .collect();
        for spelled in spellings {
            let text = plain.replace(&format!("\"{name}\""), &format!("\"{spelled}\""));
            assert_ne!(text, plain);
            let value: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                detect(&value, None, &TrustedAccounts::default()).len(),
                1,
                "{spelled}"
            );
            assert!(prefilter.may_match(text.as_bytes()), "{spelled}");
        }
    }
    // The LookupEvents line holds the record as an escaped string (`CloudTrailEvent`), which
    // no path reads as a record: a full parse finds nothing in it, and the prefilter, which
    // looks at eventName keys, agrees.
    let line =
        std::fs::read("tests/fixtures/used/plaso_aws_cloudtrail.SharedSnapshotVolumeCreated.jsonl")
            .unwrap();
    let value: Value = serde_json::from_slice(&line).unwrap();
    let mut found = 0;
    for_each_record(&value, &mut |record, account| {
        found += rule::detect(&record, account, &TrustedAccounts::default(), None).len();
    });
    assert_eq!(found, 0);
    assert!(!prefilter.may_match(&line));
}

/// `@timestamp` is RFC 3339 in UTC whatever form `eventTime` had; a time that cannot be read
/// leaves `@timestamp` out and keeps the text in `event.original_time`.
#[test]
fn timestamps_are_normalised() {
    for (given, want) in [
        ("2022-09-27T07:58:49Z", Some("2022-09-27T07:58:49Z")),
        // Panther's test records: a space, no zone (UTC).
        ("2022-09-29 22:28:40", Some("2022-09-29T22:28:40Z")),
        // LookupEvents' EventTime of the plaso record: the same instant as its eventTime.
        ("2022-02-08 09:19:07+11:00", Some("2022-02-07T22:19:07Z")),
        ("2022-02-07T22:19:07.123Z", Some("2022-02-07T22:19:07.123Z")),
        ("2022-02-07T22:19:07,5+0100", Some("2022-02-07T21:19:07.5Z")),
        ("2024-03-01T00:30:00-01", Some("2024-03-01T01:30:00Z")),
        ("2024-03-01T00:30:00+02:00", Some("2024-02-29T22:30:00Z")),
        ("2023-12-31T23:59:59-00:30", Some("2024-01-01T00:29:59Z")),
        ("2022-09-29t22:28:40z", Some("2022-09-29T22:28:40Z")),
        ("2022-09-29 22:28:40 UTC", Some("2022-09-29T22:28:40Z")),
        ("  2022-09-29T22:28:40Z ", Some("2022-09-29T22:28:40Z")),
        (
            "2022-09-29T22:28:40.1234567891Z",
            Some("2022-09-29T22:28:40.123456789Z"),
        ),
        ("2023-02-29T00:00:00Z", None),
        ("2022-13-01T00:00:00Z", None),
        ("2022-09-29T24:00:00Z", None),
        ("2022-09-29T22:28:40+25:00", None),
        ("2022-09-29T22:28", None),
        ("2022-09-29T22:28:40.Z", None),
        ("Sep 29, 2022 10:28:40 PM", None),
        ("1664490520", None),
        ("", None),
        ("2022-09-29T22:28:40Zjunk", None),
    ] {
        assert_eq!(normalize_time(given).as_deref(), want, "{given:?}");
    }

    // Through the finding: Panther's record, and one whose time cannot be read.
    let text = std::fs::read_to_string(
        "tests/fixtures/corpus/panther_aws_snapshot_backup_exfiltration.tests.json",
    )
    .unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let mut found = Vec::new();
    for_each_record(&value, &mut |record, account| {
        found.extend(rule::detect(
            &record,
            account,
            &TrustedAccounts::default(),
            None,
        ))
    });
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].timestamp.as_deref(), Some("2022-09-29T22:28:40Z"));
    assert_eq!(found[0].event.original_time, None);

    let odd = with(stratus_example(), "/eventTime", json!("last Tuesday"));
    let f = &detect(&odd, None, &TrustedAccounts::default())[0];
    let v: Value = serde_json::from_str(&f.to_json()).unwrap();
    assert!(v.get("@timestamp").is_none(), "{v}");
    assert_eq!(v["event"]["original_time"], "last Tuesday");
    let none = without(stratus_example(), "eventTime");
    let v: Value =
        serde_json::from_str(&detect(&none, None, &TrustedAccounts::default())[0].to_json())
            .unwrap();
    assert!(v.get("@timestamp").is_none() && v["event"].get("original_time").is_none());
}
