//! Generated CloudTrail records for the property tests (proptest), and the run configuration
//! they share. Records are drawn from two mixes: a wild one, where any field may be off, and a
//! likely one, a successful `ModifySnapshotAttribute` call whose parameters vary.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Map, Value};

mod params;
pub use params::*;

/// `cases` unless `PROPTEST_CASES` says otherwise; nothing written to disk.
pub fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `n` values of `strategy`, from a fixed seed: for the checks that the generators reach the
/// cases that matter.
pub fn sample<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Generated CloudTrail records
// ---------------------------------------------------------------------------------------------

pub const OWNER: &str = "111122223333";
pub const CALLER: &str = "222233334444";
pub const ENVELOPE: &str = "555566667777";
pub const FOREIGN: [&str; 3] = ["444455556666", "777788889999", "098797384747"];

/// Strings that a naive scanner would misread (as in tests/equivalence.rs).
pub const TRICKY: &[&str] = &[
    "ModifySnapshotAttribute",
    "\"}]",
    "\"},{\"eventName\":\"ModifySnapshotAttribute\"",
    "\\",
    "\\\"",
    "]}{\"Records\":[",
    "{\"userId\":\"999999999999\"}",
    "\u{1F600} ünïcödé \u{2028}\u{FEFF}",
    "\n\r\t\u{0}\u{1f}",
    "\\u004dodify",
    "",
];

pub fn s(text: &str) -> Option<Value> {
    Some(Value::String(text.to_owned()))
}

/// One of `choices`, each as often as its weight (`None`: the field is absent).
pub fn pick(choices: &[(usize, Option<Value>)]) -> impl Strategy<Value = Option<Value>> {
    let all: Vec<Option<Value>> = choices
        .iter()
        .flat_map(|(n, v)| std::iter::repeat_n(v.clone(), *n))
        .collect();
    select(all)
}

/// Records are drawn from two mixes: a wild one, where any field may be off, and a likely
/// one, a successful ModifySnapshotAttribute call whose parameters vary, so that about half
/// of the records are shares and the targets, owners and trust decide.
pub fn event_source(likely: bool) -> impl Strategy<Value = Option<Value>> {
    let right = if likely { 1 } else { 4 };
    pick(&[
        (right, s("ec2.amazonaws.com")),
        (!likely as usize, s("EC2.amazonaws.com")),
        (!likely as usize, s("ec2.amazonaws.com ")),
        (!likely as usize, s("s3.amazonaws.com")),
        (!likely as usize, s("")),
        (!likely as usize, Some(json!(2))),
        (!likely as usize, None),
    ])
}

pub fn event_name(likely: bool) -> impl Strategy<Value = Option<Value>> {
    let right = if likely { 1 } else { 4 };
    pick(&[
        (right, s("ModifySnapshotAttribute")),
        (!likely as usize, s("modifySnapshotAttribute")),
        (!likely as usize, s("ModifySnapshotAttributes")),
        (!likely as usize, s("ModifyImageAttribute")),
        (!likely as usize, s("ResetSnapshotAttribute")),
        (!likely as usize, s("")),
        (!likely as usize, None),
    ])
}

pub fn error_field(likely: bool) -> impl Strategy<Value = Option<Value>> {
    let failed = if likely { 0 } else { 1 };
    pick(&[
        (10, None),
        (1, Some(Value::Null)),
        (1, s("")),
        (failed, s(" ")),
        (failed, s("Client.UnauthorizedOperation")),
        (failed, Some(json!(403))),
    ])
}

pub fn recipient_account() -> impl Strategy<Value = Option<Value>> {
    pick(&[
        (4, s(OWNER)),
        (3, None),
        (1, s("")),
        (1, s(CALLER)),
        (1, Some(json!(111122223333u64))),
    ])
}

pub fn user_identity() -> impl Strategy<Value = Option<Value>> {
    let account = pick(&[
        (2, s(CALLER)),
        (2, s(OWNER)),
        (2, None),
        (1, s("")),
        (1, Some(json!(5))),
    ]);
    prop_oneof![
        6 => (account, select(TRICKY.to_vec())).prop_map(|(account, arn)| {
            let mut m = Map::new();
            m.insert("type".into(), json!("IAMUser"));
            m.insert("arn".into(), json!(format!("arn:aws:iam::{OWNER}:user/{arn}")));
            if let Some(a) = account {
                m.insert("accountId".into(), a);
            }
            Some(Value::Object(m))
        }),
        1 => Just(None),
        1 => Just(s("not an object")),
    ]
}

/// Fields the rule does not read but the finding copies (and the splitter must skip).
pub fn decoration() -> impl Strategy<Value = Vec<(&'static str, Value)>> {
    let text = prop_oneof![
        3 => select(TRICKY.to_vec()).prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    (
        prop::option::of("[0-9a-f]{8}"),
        text.clone(),
        text,
        select(vec!["192.0.2.1", "ec2.amazonaws.com", "2001:db8::1", ""]),
    )
        .prop_map(|(id, agent, extra, ip)| {
            let mut fields = vec![
                ("eventVersion", json!("1.09")),
                ("eventTime", json!("2024-08-01T12:28:02Z")),
                ("awsRegion", json!("us-east-1")),
                ("sourceIPAddress", json!(ip)),
                ("userAgent", json!(agent)),
                (
                    "additionalEventData",
                    json!({ "note": extra, "n": [1, -2, 0] }),
                ),
                ("responseElements", json!({"_return": true})),
            ];
            if let Some(id) = id {
                fields.push((
                    "eventID",
                    json!(format!("{id}-6897-445c-9e86-43e5b1f8e12f")),
                ));
            }
            fields
        })
}

/// A record and the account of the EventBridge envelope it came in, if any.
#[derive(Debug, Clone)]
pub struct Case {
    pub record: Value,
    pub envelope: Option<String>,
}

pub fn case() -> impl Strategy<Value = Case> {
    prop_oneof![2 => case_from(false), 3 => case_from(true)]
}

pub fn case_from(likely: bool) -> impl Strategy<Value = Case> {
    (
        (
            event_source(likely),
            event_name(likely),
            error_field(likely),
            error_field(likely),
        ),
        (
            recipient_account(),
            user_identity(),
            request_parameters(likely),
        ),
        decoration(),
        pick(&[(2, None), (1, s(ENVELOPE)), (1, s(OWNER)), (1, s(""))]),
    )
        .prop_map(
            |((source, name, code, message), (recipient, identity, params), extra, envelope)| {
                let mut m = Map::new();
                for (key, value) in [
                    ("eventSource", source),
                    ("eventName", name),
                    ("errorCode", code),
                    ("errorMessage", message),
                    ("recipientAccountId", recipient),
                    ("userIdentity", identity),
                    ("requestParameters", params),
                ] {
                    if let Some(v) = value {
                        m.insert(key.into(), v);
                    }
                }
                for (key, value) in extra {
                    m.insert(key.into(), value);
                }
                Case {
                    record: Value::Object(m),
                    envelope: envelope.map(|v| v.as_str().unwrap().to_owned()),
                }
            },
        )
}

/// A record of any rule: mostly [`case`] (the snapshot share, whose parameters vary most), and
/// the calls of every other rule of the registry, so that the fast path and the full parse are
/// compared on every rule's records.
pub fn any_case() -> BoxedStrategy<Case> {
    // Boxed: the nested strategy types otherwise make frames deep enough to overflow a test
    // thread's stack in debug builds.
    prop_oneof![4 => case().boxed(), 1 => other_rule_case().boxed()].boxed()
}

/// A call of a rule other than the snapshot share, with parameters of every rule's shape (an
/// AMI's launch permission, an RDS snapshot's `restore` values, a block public access state, a
/// use's details): each rule reads the part that is its own.
pub fn other_rule_case() -> impl Strategy<Value = Case> {
    let calls: Vec<(&'static str, &'static str)> = snapshot_share_detector::rule::calls()
        .filter(|c| c.name != "ModifySnapshotAttribute")
        .map(|c| (c.source, c.name))
        .collect();
    let grantee = select(vec![
        json!({"userId": FOREIGN[0]}),
        json!({"userId": OWNER}),
        json!({"group": "all"}),
        json!({"organizationArn": "arn:aws:organizations::111122223333:organization/o-abcdefghij"}),
        json!({"organizationalUnitArn": "arn:aws:organizations::111122223333:ou/o-abcdefghij/ou-ab12-cd34ef56"}),
    ]);
    (
        select(calls),
        prop::collection::vec(grantee, 0..3),
        select(vec![FOREIGN[1], OWNER, "all"]),
        select(vec!["block-new-sharing", "block-all-sharing", "unblocked"]),
        error_field(false),
        select(vec![OWNER, FOREIGN[2], CALLER]),
        decoration(),
    )
        .prop_map(
            |((source, name), items, value, state, error, user, extra)| {
                let mut m = Map::new();
                m.insert("eventSource".into(), json!(source));
                m.insert("eventName".into(), json!(name));
                m.insert("recipientAccountId".into(), json!(OWNER));
                m.insert(
                    "userIdentity".into(),
                    json!({"accountId": user, "type": "IAMUser"}),
                );
                m.insert(
                    "requestParameters".into(),
                    json!({
                        "imageId": "ami-1", "attributeType": "launchPermission",
                        "launchPermission": {"add": {"items": items}},
                        "dBSnapshotIdentifier": "db-1", "dBClusterSnapshotIdentifier": "cl-1",
                        "attributeName": "restore", "valuesToAdd": [value],
                        "state": state,
                    }),
                );
                m.insert(
                    "serviceEventDetails".into(),
                    json!({"snapshotId": "snap-1"}),
                );
                if let Some(code) = error {
                    m.insert("errorCode".into(), code);
                }
                for (key, value) in extra {
                    m.insert(key.into(), value);
                }
                Case {
                    record: Value::Object(m),
                    envelope: None,
                }
            },
        )
}

/// `TRUSTED_ACCOUNT_IDS` as the operator might write it, and the ids it means.
pub fn trusted() -> impl Strategy<Value = (String, Vec<String>)> {
    let id = select(vec![
        FOREIGN[0],
        FOREIGN[1],
        OWNER,
        CALLER,
        "all",
        "ALL",
        "999999999999",
    ]);
    (
        prop::collection::vec((id, select(vec!["", " ", "\t", " ,"])), 0..4),
        any::<bool>(),
    )
        .prop_map(|(entries, trailing_comma)| {
            let ids: Vec<String> = entries.iter().map(|(id, _)| id.to_string()).collect();
            let mut list = entries
                .iter()
                .map(|(id, pad)| format!("{pad}{id}{pad}"))
                .collect::<Vec<_>>()
                .join(",");
            if trailing_comma {
                list.push_str(", ");
            }
            (list, ids)
        })
}
