//! The rule, case by case (one row per case, each saying why), and on every
//! ModifySnapshotAttribute record of the corpus.

use serde_json::{json, Value};
use snapshot_share_detector::cloudtrail::Record;
use snapshot_share_detector::finding::Target;
use snapshot_share_detector::rule::{evaluate, TrustedAccounts};
use snapshot_share_detector::trigger::envelope::for_each_record;

const OWNER: &str = "756680937392";

/// A successful share of one snapshot, shaped like the Stratus Red Team detonation record.
fn base(items: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "eventID": "6897ff63-d738-445c-9e86-43e5b1f8e12f",
        "eventTime": "2024-08-01T12:28:02Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "ModifySnapshotAttribute",
        "awsRegion": "us-east-1",
        "recipientAccountId": OWNER,
        "userIdentity": {"type": "IAMUser", "accountId": OWNER,
                         "arn": "arn:aws:iam::756680937392:user/christophe"},
        "requestParameters": {
            "snapshotId": "snap-041993b54a9b3af6f",
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": items}}
        },
        "responseElements": {"_return": true}
    })
}

fn users(ids: &[&str]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "userId": id })).collect())
}

fn acct(id: &str) -> Target {
    Target::Account(id.to_owned())
}

struct Case {
    name: &'static str,
    why: &'static str,
    record: Value,
    envelope_account: Option<&'static str>,
    trusted: &'static str,
    expect: Vec<Target>,
}

fn case(name: &'static str, why: &'static str, record: Value, expect: Vec<Target>) -> Case {
    Case {
        name,
        why,
        record,
        envelope_account: None,
        trusted: "",
        expect,
    }
}

fn with(mut record: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() {
        &mut record
    } else {
        record.pointer_mut(parent).unwrap()
    };
    if value.is_null() {
        target.as_object_mut().unwrap().remove(key);
    } else {
        target[key] = value;
    }
    record
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "single foreign account",
            "the attack itself: one account outside the owner's",
            base(users(&["098797384747"])),
            vec![acct("098797384747")],
        ),
        case(
            "many foreign accounts",
            "each target is a finding of its own, in request order",
            base(users(&["111111111111", "222222222222", "333333333333"])),
            vec![
                acct("111111111111"),
                acct("222222222222"),
                acct("333333333333"),
            ],
        ),
        case(
            "duplicate targets",
            "one finding per distinct target, never two for the same",
            base(users(&["111111111111", "111111111111", " 111111111111 "])),
            vec![acct("111111111111")],
        ),
        case(
            "own account among foreign ones",
            "the owner is not a target; the others are",
            base(users(&[OWNER, "222222222222"])),
            vec![acct("222222222222")],
        ),
        case(
            "self only",
            "sharing with one's own account shares nothing",
            base(users(&[OWNER])),
            vec![],
        ),
        case(
            "public",
            "group all makes the snapshot public: target all",
            base(json!([{"group": "all"}])),
            vec![Target::Public],
        ),
        case(
            "public with foreign",
            "both the public share and the account",
            base(json!([{"group": "all"}, {"userId": "222222222222"}])),
            vec![Target::Public, acct("222222222222")],
        ),
        case(
            "public twice, any case",
            "group compares case-insensitively; still one finding",
            base(json!([{"group": "all"}, {"group": "ALL"}])),
            vec![Target::Public],
        ),
        case(
            "group other than all",
            "no other group grants access to everyone",
            base(json!([{"group": "none"}])),
            vec![],
        ),
        case(
            "remove only",
            "taking permission away is not a share",
            with(
                base(json!([])),
                "/requestParameters/createVolumePermission",
                json!({"remove": {"items": [{"userId": "222222222222"}, {"group": "all"}]}}),
            ),
            vec![],
        ),
        case(
            "add with remove",
            "only the added targets count; the removed one is not reported",
            with(
                base(json!([])),
                "/requestParameters/createVolumePermission",
                json!({"remove": {"items": [{"userId": "333333333333"}]},
                       "add": {"items": [{"userId": "222222222222"}]}}),
            ),
            vec![acct("222222222222")],
        ),
        case(
            "errorCode",
            "a failed call shared nothing",
            with(
                base(users(&["222222222222"])),
                "/errorCode",
                json!("Client.InvalidSnapshot.NotFound"),
            ),
            vec![],
        ),
        case(
            "errorMessage only",
            "an error message alone also marks the call as failed",
            with(
                base(users(&["222222222222"])),
                "/errorMessage",
                json!("denied"),
            ),
            vec![],
        ),
        case(
            "empty errorCode",
            "an empty error field is no error",
            with(base(users(&["222222222222"])), "/errorCode", json!("")),
            vec![acct("222222222222")],
        ),
        case(
            "other eventName",
            "ModifyImageAttribute shares AMIs, another rule's business",
            with(
                base(users(&["222222222222"])),
                "/eventName",
                json!("ModifyImageAttribute"),
            ),
            vec![],
        ),
        case(
            "other eventSource",
            "only EC2's API call counts",
            with(
                base(users(&["222222222222"])),
                "/eventSource",
                json!("rds.amazonaws.com"),
            ),
            vec![],
        ),
        case(
            "other attributeType",
            "productCodes changes do not share data",
            with(
                base(users(&["222222222222"])),
                "/requestParameters/attributeType",
                json!("PRODUCT_CODES"),
            ),
            vec![],
        ),
        case(
            "attributeType in another spelling",
            "case and underscores do not matter",
            with(
                base(users(&["222222222222"])),
                "/requestParameters/attributeType",
                json!("createVolumePermission"),
            ),
            vec![acct("222222222222")],
        ),
        case(
            "attributeType absent",
            "the API lets callers omit it; the permission list still shares the data",
            with(
                base(users(&["222222222222"])),
                "/requestParameters/attributeType",
                Value::Null,
            ),
            vec![acct("222222222222")],
        ),
        case(
            "missing recipientAccountId",
            "the caller's account is the owner then: own account not reported",
            with(
                base(users(&[OWNER, "222222222222"])),
                "/recipientAccountId",
                Value::Null,
            ),
            vec![acct("222222222222")],
        ),
        Case {
            name: "no account in the record",
            why: "the EventBridge envelope's account is the owner of last resort",
            record: with(
                with(
                    base(users(&[OWNER, "222222222222"])),
                    "/recipientAccountId",
                    Value::Null,
                ),
                "/userIdentity",
                Value::Null,
            ),
            envelope_account: Some(OWNER),
            trusted: "",
            expect: vec![acct("222222222222")],
        },
        case(
            "no owner known at all",
            "without an owner every account is foreign: report rather than miss",
            with(
                with(base(users(&[OWNER])), "/recipientAccountId", Value::Null),
                "/userIdentity",
                Value::Null,
            ),
            vec![acct(OWNER)],
        ),
        Case {
            name: "trusted accounts",
            why: "TRUSTED_ACCOUNT_IDS silences expected partners, never a public share",
            record: base(
                json!([{"userId": "111111111111"}, {"userId": "222222222222"}, {"group": "all"}]),
            ),
            envelope_account: None,
            trusted: "111111111111, 999999999999",
            expect: vec![acct("222222222222"), Target::Public],
        },
        case(
            "requestParameters as a JSON string",
            "some exporters flatten it; it is still parsed, not pattern-matched",
            with(
                base(json!([])),
                "/requestParameters",
                json!(
                    r#"{"createVolumePermission":{"add":{"items":[{"userId":"222222222222"}]}},"attributeType":"CREATE_VOLUME_PERMISSION","snapshotId":"snap-1"}"#
                ),
            ),
            vec![acct("222222222222")],
        ),
        case(
            "key order does not matter",
            "items before attributeType, userId after group",
            json!({"requestParameters": {"createVolumePermission": {"add": {"items": [{"group": "x", "userId": "222222222222"}]}},
                                         "snapshotId": "snap-1", "attributeType": "CREATE_VOLUME_PERMISSION"},
                   "eventName": "ModifySnapshotAttribute", "recipientAccountId": OWNER,
                   "eventSource": "ec2.amazonaws.com"}),
            vec![acct("222222222222")],
        ),
        case(
            "single item as an object",
            "a lone item not wrapped in an array is still an item",
            base(json!({"userId": "222222222222"})),
            vec![acct("222222222222")],
        ),
        case(
            "malformed items",
            "numbers, objects and nulls are skipped; the valid item still counts",
            base(
                json!([{"userId": 222222222222u64}, {"userId": {"id": "x"}}, null, 5, {"userId": ""}, {"userId": "333333333333"}]),
            ),
            vec![acct("333333333333")],
        ),
        case(
            "null requestParameters",
            "nothing to share",
            with(base(json!([])), "/requestParameters", json!(null)),
            vec![],
        ),
    ]
}

#[test]
fn every_case_gives_its_verdict() {
    let mut failures = Vec::new();
    for c in cases() {
        let record = Record::new(&c.record).unwrap();
        let trusted = TrustedAccounts::parse(c.trusted);
        let got = evaluate(&record, c.envelope_account, &trusted)
            .map(|share| share.targets)
            .unwrap_or_default();
        if got != c.expect {
            failures.push(format!(
                "{} ({}): expected {:?}, got {:?}",
                c.name, c.why, c.expect, got
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_share_carries_owner_snapshot_and_attribute() {
    let raw = base(users(&["098797384747"]));
    let share = evaluate(
        &Record::new(&raw).unwrap(),
        None,
        &TrustedAccounts::default(),
    )
    .unwrap();
    assert_eq!(share.owner.as_deref(), Some(OWNER));
    assert_eq!(share.snapshot_id.as_deref(), Some("snap-041993b54a9b3af6f"));
    assert_eq!(
        share.attribute_type.as_deref(),
        Some("CREATE_VOLUME_PERMISSION")
    );
}

#[test]
fn five_hundred_items_give_five_hundred_findings() {
    let ids: Vec<String> = (0..500)
        .map(|i| format!("{:012}", 100_000_000_000u64 + i))
        .collect();
    let mut items: Vec<&str> = ids.iter().map(String::as_str).collect();
    items.extend(ids.iter().take(50).map(String::as_str)); // repeats
    items.push(OWNER);
    let raw = base(users(&items));
    let share = evaluate(
        &Record::new(&raw).unwrap(),
        None,
        &TrustedAccounts::default(),
    )
    .unwrap();
    assert_eq!(share.targets.len(), 500);
    assert_eq!(share.targets[0], acct(&ids[0]));
    assert_eq!(share.targets[499], acct(&ids[499]));
}

/// The verdict for each ModifySnapshotAttribute record of the corpus, decided from the record
/// itself (tests/fixtures/SOURCES.md says where each file came from).
#[test]
fn corpus_records_give_the_verdicts_the_rule_text_says() {
    // (eventID, target) for each ModifySnapshotAttribute record of a file, in order.
    type Verdicts = &'static [(&'static str, Option<&'static str>)];
    let expected: &[(&str, Verdicts)] = &[
        // Real detonation: owner 756680937392 shares with 098797384747.
        (
            "stratus-red-team_detonation_aws.exfiltration.ec2-share-ebs-snapshot.json",
            &[("6897ff63-d738-445c-9e86-43e5b1f8e12f", Some("098797384747"))],
        ),
        // Datadog export without sourceIPAddress/userAgent: owner 677301038893 -> 012345678912.
        (
            "cloudtrail2sightings_aws.exfiltration.ec2-share-ebs-snapshot.datadog-export.json",
            &[("b2d095cd-53f0-4873-b217-b08fda4951bf", Some("012345678912"))],
        ),
        // Panther: public add (finding), group none (no), failed public add (no), foreign (finding).
        (
            "panther_aws_snapshot_made_public.tests.json",
            &[
                ("1111", Some("all")),
                ("1111", None),
                ("1111", None),
                ("1111", Some("111122223333")),
            ],
        ),
        // Panther: non-12-digit ids, no eventID: 12345 shares with 54321 (a finding).
        (
            "panther_aws_snapshot_backup_exfiltration.tests.json",
            &[("", Some("54321"))],
        ),
    ];
    for (file, verdicts) in expected {
        let text = std::fs::read_to_string(format!("tests/fixtures/corpus/{file}")).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let mut got = Vec::new();
        for_each_record(&value, &mut |record, account| {
            if record.event_name != Some("ModifySnapshotAttribute") {
                return;
            }
            let targets = evaluate(&record, account, &TrustedAccounts::default())
                .map(|s| s.targets)
                .unwrap_or_default();
            assert!(targets.len() <= 1, "{file}: one target per corpus record");
            got.push((
                record.event_id.unwrap_or("").to_owned(),
                targets.first().map(|t| t.user_id().to_owned()),
            ));
        });
        let want: Vec<(String, Option<String>)> = verdicts
            .iter()
            .map(|(id, t)| (id.to_string(), t.map(str::to_owned)))
            .collect();
        assert_eq!(got, want, "{file}");
    }
}

/// Near misses from the corpus that must stay silent: AMI sharing, RDS snapshot sharing and
/// the SharedSnapshotCopyInitiated service event.
#[test]
fn near_misses_stay_silent() {
    let text = std::fs::read_to_string(
        "tests/fixtures/corpus/stratus-red-team_docs_SharedSnapshotCopyInitiated.example.json",
    )
    .unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let record = Record::new(&value).unwrap();
    assert!(evaluate(&record, None, &TrustedAccounts::default()).is_none());
    let ami = json!({"eventSource": "ec2.amazonaws.com", "eventName": "ModifyImageAttribute",
        "recipientAccountId": OWNER, "requestParameters": {"attributeType": "launchPermission",
        "imageId": "ami-1", "launchPermission": {"add": {"items": [{"userId": "846424999548"}]}}}});
    assert!(evaluate(
        &Record::new(&ami).unwrap(),
        None,
        &TrustedAccounts::default()
    )
    .is_none());
}
