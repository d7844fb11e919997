//! Property tests (proptest): the rule against an independent model of the README's rule, the
//! reader against the rule on generated log files of every shape (and on mutated ones), and
//! the trigger on arbitrary and mutated payloads.
//!
//! `tests/equivalence.rs` compares the fast reader with a full parse on a fixed set of seeds;
//! here the inputs are generated and shrunk by proptest, the expected findings come from
//! evaluating each generated record directly, and the reader is also driven through small
//! reads, multi-member gzip, byte-order marks, `\u` escapes anywhere, limits, truncation and
//! random byte mutations.
//!
//! Case counts are set per property (the whole file runs in well under 30 s in debug mode);
//! `PROPTEST_CASES=N` overrides them all for a longer run. Failures are not persisted to disk
//! (proptest prints the minimal failing input instead).

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::sync::OnceLock;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Map, Value};
use snapshot_share_detector::cloudtrail::{for_each_record, Record};
use snapshot_share_detector::finding::Finding;
use snapshot_share_detector::reader::{
    self, Limits, ReadError, RecordErrorKind, ScanOptions, ScanReport, MAX_KEPT_ERRORS,
};
use snapshot_share_detector::rule::{self, Target, TrustedAccounts};
use snapshot_share_detector::trigger::{self, Invocation, Trigger, Work};

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// `cases` unless `PROPTEST_CASES` says otherwise; nothing written to disk.
fn config(cases: u32) -> ProptestConfig {
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
fn sample<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Generated CloudTrail records
// ---------------------------------------------------------------------------------------------

const OWNER: &str = "111122223333";
const CALLER: &str = "222233334444";
const ENVELOPE: &str = "555566667777";
const FOREIGN: [&str; 3] = ["444455556666", "777788889999", "098797384747"];

/// Strings that a naive scanner would misread (as in tests/equivalence.rs).
const TRICKY: &[&str] = &[
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

fn s(text: &str) -> Option<Value> {
    Some(Value::String(text.to_owned()))
}

/// One of `choices`, each as often as its weight (`None`: the field is absent).
fn pick(choices: &[(usize, Option<Value>)]) -> impl Strategy<Value = Option<Value>> {
    let all: Vec<Option<Value>> = choices
        .iter()
        .flat_map(|(n, v)| std::iter::repeat_n(v.clone(), *n))
        .collect();
    select(all)
}

/// Records are drawn from two mixes: a wild one, where any field may be off, and a likely
/// one, a successful ModifySnapshotAttribute call whose parameters vary, so that about half
/// of the records are shares and the targets, owners and trust decide.
fn event_source(likely: bool) -> impl Strategy<Value = Option<Value>> {
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

fn event_name(likely: bool) -> impl Strategy<Value = Option<Value>> {
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

fn error_field(likely: bool) -> impl Strategy<Value = Option<Value>> {
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

/// `createVolumePermission` in a random mix of cases, with underscores anywhere.
fn create_volume_permission_spelling() -> impl Strategy<Value = String> {
    const WORD: &str = "createvolumepermission";
    (
        prop::collection::vec((any::<bool>(), 0..10usize), WORD.len()),
        0..3usize,
    )
        .prop_map(|(letters, trailing)| {
            let mut out = String::new();
            for (c, (upper, underscores)) in WORD.chars().zip(letters) {
                // Mostly none; sometimes one, now and then two.
                out.push_str(&"_".repeat(underscores.saturating_sub(7)));
                out.push(if upper { c.to_ascii_uppercase() } else { c });
            }
            out.push_str(&"_".repeat(trailing));
            out
        })
}

fn attribute_type() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(Value::Null)),
        3 => pick(&[
            (1, s("CREATE_VOLUME_PERMISSION")),
            (1, s("createVolumePermission")),
            (1, s("CreateVolumePermission")),
            (1, s("create_volume_permission")),
        ]),
        3 => create_volume_permission_spelling().prop_map(|s| Some(Value::String(s))),
        2 => pick(&[
            (1, s("productCodes")),
            (1, s("PRODUCT_CODES")),
            (1, s("")),
            (1, s(" CREATE_VOLUME_PERMISSION")),
            (1, s("createVolumePermissions")),
            (1, s("create-volume-permission")),
            (1, s("createVolumePermissio")),
        ]),
        1 => "[a-zA-Z_]{0,24}".prop_map(|s| Some(Value::String(s))),
        1 => pick(&[
            (1, Some(json!(1))),
            (1, Some(json!(true))),
            (1, Some(json!(["CREATE_VOLUME_PERMISSION"]))),
            (1, Some(json!({"value": "CREATE_VOLUME_PERMISSION"}))),
        ]),
    ]
}

fn user_id() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        8 => pick(&[
            (1, s(OWNER)),
            (1, s(CALLER)),
            (1, s(ENVELOPE)),
            (2, s(FOREIGN[0])),
            (2, s(FOREIGN[1])),
            (1, s(FOREIGN[2])),
        ]),
        3 => pick(&[
            (1, s(" 444455556666")),
            (1, s("444455556666\t")),
            (1, s(" 111122223333 ")),
            (1, s("\u{a0}777788889999\n")),
            (1, s("")),
            (1, s("   ")),
            (1, s("all")),
            (1, s("ALL")),
        ]),
        2 => "[0-9]{12}".prop_map(|s| Some(Value::String(s))),
        1 => pick(&[
            (1, Some(json!(444455556666u64))),
            (1, Some(Value::Null)),
            (1, Some(json!(["444455556666"]))),
            (1, Some(json!({"id": "444455556666"}))),
        ]),
    ]
}

fn group() -> impl Strategy<Value = Option<Value>> {
    pick(&[
        (10, None),
        (2, s("all")),
        (1, s("ALL")),
        (1, s("All")),
        (1, s(" all")),
        (1, s("all\n")),
        (1, s("al l")),
        (1, s("everyone")),
        (1, s("")),
        (1, Some(json!(1))),
        (1, Some(Value::Null)),
        (1, Some(json!(["all"]))),
    ])
}

fn item() -> impl Strategy<Value = Value> {
    prop_oneof![
        10 => (user_id(), group(), any::<bool>()).prop_map(|(user, group, extra)| {
            let mut m = Map::new();
            if let Some(u) = user {
                m.insert("userId".into(), u);
            }
            if let Some(g) = group {
                m.insert("group".into(), g);
            }
            if extra {
                m.insert("note".into(), json!("ModifySnapshotAttribute {\"group\":\"all\"}"));
            }
            Value::Object(m)
        }),
        1 => select(vec![
            json!("444455556666"),
            json!("all"),
            Value::Null,
            json!(7),
            json!([{"userId": "444455556666"}]),
        ]),
    ]
}

/// `items`: a list (the normal case), a single object, absent, or something else.
fn items() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        8 => prop::collection::vec(item(), 0..30).prop_map(|v| Some(Value::Array(v))),
        2 => item().prop_map(Some),
        1 => Just(None),
        1 => pick(&[(1, Some(Value::Null)), (1, s("all")), (1, Some(json!(5)))]),
    ]
}

/// `add` or `remove`: `{"items": ...}`, absent, or something else.
fn permission_list(likely: bool) -> impl Strategy<Value = Option<Value>> {
    let other = if likely { 0 } else { 1 };
    prop_oneof![
        6 => items().prop_map(|items| {
            let mut m = Map::new();
            if let Some(items) = items {
                m.insert("items".into(), items);
            }
            Some(Value::Object(m))
        }),
        2 * other => Just(None),
        other => pick(&[(1, s("add")), (1, Some(json!([{"userId": "444455556666"}])))]),
    ]
}

fn create_volume_permission(likely: bool) -> impl Strategy<Value = Option<Value>> {
    let other = if likely { 0 } else { 1 };
    prop_oneof![
        8 => (permission_list(likely), permission_list(false)).prop_map(|(add, remove)| {
            let mut m = Map::new();
            if let Some(add) = add {
                m.insert("add".into(), add);
            }
            if let Some(remove) = remove {
                m.insert("remove".into(), remove);
            }
            Some(Value::Object(m))
        }),
        other => Just(None),
        other => pick(&[(1, s("add")), (1, Some(Value::Null))]),
    ]
}

/// How `requestParameters` is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamsForm {
    Object,
    /// As a JSON string (some exporters do this).
    Text,
    /// A string that is not JSON.
    BrokenText,
    Null,
    Absent,
    Number,
}

fn request_parameters(likely: bool) -> impl Strategy<Value = Option<Value>> {
    let other = if likely { 0 } else { 1 };
    let forms = [
        (5, ParamsForm::Object),
        (2, ParamsForm::Text),
        (other, ParamsForm::BrokenText),
        (other, ParamsForm::Null),
        (other, ParamsForm::Absent),
        (other, ParamsForm::Number),
    ];
    let form = select(
        forms
            .iter()
            .flat_map(|&(n, f)| std::iter::repeat_n(f, n))
            .collect::<Vec<_>>(),
    );
    let snapshot = pick(&[
        (3, s("snap-041993b54a9b3af6f")),
        (1, s("")),
        (1, None),
        (1, Some(json!(5))),
    ]);
    (
        form,
        snapshot,
        attribute_type(),
        create_volume_permission(likely),
        any::<bool>(),
    )
        .prop_map(|(form, snapshot, kind, permission, product_codes)| {
            let mut m = Map::new();
            if let Some(v) = snapshot {
                m.insert("snapshotId".into(), v);
            }
            if let Some(v) = kind {
                m.insert("attributeType".into(), v);
            }
            if let Some(v) = permission {
                m.insert("createVolumePermission".into(), v);
            }
            if product_codes {
                m.insert(
                    "productCodes".into(),
                    json!({"add": {"items": [{"productCode": "x"}]}}),
                );
            }
            let params = Value::Object(m);
            match form {
                ParamsForm::Object => Some(params),
                ParamsForm::Text => Some(Value::String(params.to_string())),
                ParamsForm::BrokenText => Some(Value::String(format!("{{{params}"))),
                ParamsForm::Null => Some(Value::Null),
                ParamsForm::Absent => None,
                ParamsForm::Number => Some(json!(5)),
            }
        })
}

fn recipient_account() -> impl Strategy<Value = Option<Value>> {
    pick(&[
        (4, s(OWNER)),
        (3, None),
        (1, s("")),
        (1, s(CALLER)),
        (1, Some(json!(111122223333u64))),
    ])
}

fn user_identity() -> impl Strategy<Value = Option<Value>> {
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
fn decoration() -> impl Strategy<Value = Vec<(&'static str, Value)>> {
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
struct Case {
    record: Value,
    envelope: Option<String>,
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![2 => case_from(false), 3 => case_from(true)]
}

fn case_from(likely: bool) -> impl Strategy<Value = Case> {
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

/// `TRUSTED_ACCOUNT_IDS` as the operator might write it, and the ids it means.
fn trusted() -> impl Strategy<Value = (String, Vec<String>)> {
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

// ---------------------------------------------------------------------------------------------
// 1a. The rule against a model
// ---------------------------------------------------------------------------------------------

/// A target as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Want {
    Public,
    Account(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelShare {
    owner: Option<String>,
    snapshot_id: Option<String>,
    attribute_type: Option<String>,
    targets: Vec<Want>,
}

/// The README's rule ("The rule"), written out plainly, without any code of the crate.
///
/// Where the README is silent the model takes these readings, each stated in the crate's docs:
/// a field of a type CloudTrail does not write (a number where a string belongs) reads as
/// absent, like a missing one (`cloudtrail.rs`); an error field is set when it is present and
/// neither `null` nor `""` (`Record::error_code`); a `userId` is compared and reported without
/// surrounding blanks, and `group` is `all` in any case and with blanks around it (the
/// comparisons `tests/rule.rs` pins down).
fn model(record: &Value, envelope: Option<&str>, trusted: &[String]) -> Option<ModelShare> {
    // A string field, "" counting as absent.
    fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
        match v.pointer(pointer) {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    // eventSource is ec2.amazonaws.com and eventName is ModifySnapshotAttribute.
    if record.get("eventSource") != Some(&json!("ec2.amazonaws.com"))
        || record.get("eventName") != Some(&json!("ModifySnapshotAttribute"))
    {
        return None;
    }
    // The call succeeded: no non-empty errorCode and no non-empty errorMessage.
    for field in ["errorCode", "errorMessage"] {
        match record.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(_) => return None,
        }
    }
    // requestParameters, read as JSON also when it was stored as a string.
    let params: Value = match record.get("requestParameters") {
        Some(Value::String(s)) => serde_json::from_str(s).ok()?,
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return None,
    };
    // attributeType is CREATE_VOLUME_PERMISSION (any case, with or without underscores), or
    // absent.
    let attribute_type = params
        .get("attributeType")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(kind) = &attribute_type {
        let letters: String = kind
            .chars()
            .filter(|&c| c != '_')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if letters != "CREATEVOLUMEPERMISSION" {
            return None;
        }
    }
    // The owner: recipientAccountId, else userIdentity.accountId, else the envelope's account.
    let owner = text(record, "/recipientAccountId")
        .or_else(|| text(record, "/userIdentity/accountId"))
        .or(envelope.filter(|a| !a.is_empty()))
        .map(str::to_owned);
    // The items of createVolumePermission.add.items (a single object is one item). Nothing
    // under `remove` is ever looked at.
    let items: Vec<Value> = match params.pointer("/createVolumePermission/add/items") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => vec![],
    };
    let mut targets: Vec<Want> = Vec::new();
    for item in &items {
        if let Some(Value::String(group)) = item.get("group") {
            if group.trim().eq_ignore_ascii_case("all") && !targets.contains(&Want::Public) {
                targets.push(Want::Public);
            }
        }
        if let Some(Value::String(user)) = item.get("userId") {
            let user = user.trim().to_owned();
            let foreign = !user.is_empty() && Some(&user) != owner.as_ref();
            let untrusted = !trusted.contains(&user);
            let target = Want::Account(user);
            if foreign && untrusted && !targets.contains(&target) {
                targets.push(target);
            }
        }
    }
    if targets.is_empty() {
        return None;
    }
    Some(ModelShare {
        owner,
        snapshot_id: params
            .get("snapshotId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        attribute_type,
        targets,
    })
}

/// What `rule::evaluate` says, in the model's terms.
fn evaluated(
    record: &Value,
    envelope: Option<&str>,
    trusted: &TrustedAccounts,
) -> Option<ModelShare> {
    let view = Record::new(record).expect("generated records are objects");
    rule::evaluate(&view, envelope, trusted).map(|share| ModelShare {
        owner: share.owner,
        snapshot_id: share.snapshot_id,
        attribute_type: share.attribute_type,
        targets: share
            .targets
            .into_iter()
            .map(|t| match t {
                Target::Public => Want::Public,
                Target::Account(id) => Want::Account(id),
            })
            .collect(),
    })
}

proptest! {
    #![proptest_config(config(3000))]

    /// `rule::evaluate` gives exactly the model's verdict: the same targets (distinct, in
    /// request order), owner, snapshot id and attribute type, or `None` exactly when the
    /// model finds no target.
    #[test]
    fn the_rule_agrees_with_the_model(c in case(), (list, ids) in trusted()) {
        let trusted = TrustedAccounts::parse(&list);
        let want = model(&c.record, c.envelope.as_deref(), &ids);
        let got = evaluated(&c.record, c.envelope.as_deref(), &trusted);
        prop_assert_eq!(got, want, "record {}", c.record);
    }
}

proptest! {
    #![proptest_config(config(500))]

    /// Changing what the rule does not read changes nothing; `remove` items never count.
    #[test]
    fn remove_items_and_other_fields_do_not_matter(c in case(), extra in items()) {
        let trusted = TrustedAccounts::default();
        let before = evaluated(&c.record, c.envelope.as_deref(), &trusted);
        let mut changed = c.record.clone();
        // Replace (or add) the `remove` list, when requestParameters is an object with a
        // createVolumePermission object.
        if let Some(Value::Object(p)) =
            changed.pointer_mut("/requestParameters/createVolumePermission")
        {
            p.insert("remove".into(), json!({ "items": extra }));
        }
        changed["userAgent"] = json!("ModifySnapshotAttribute \"group\":\"all\"");
        changed["responseElements"] = json!({"_return": false});
        let after = evaluated(&changed, c.envelope.as_deref(), &trusted);
        prop_assert_eq!(after, before);
    }
}

#[test]
fn the_record_generator_reaches_every_verdict() {
    let cases = sample((case(), trusted()), 2000);
    let mut shares = 0;
    let mut public = 0;
    let mut many = 0;
    let mut from_text = 0;
    let mut from_envelope = 0;
    for (c, (_, ids)) in &cases {
        let Some(share) = model(&c.record, c.envelope.as_deref(), ids) else {
            continue;
        };
        shares += 1;
        public += share.targets.contains(&Want::Public) as usize;
        many += (share.targets.len() >= 3) as usize;
        from_text += c.record["requestParameters"].is_string() as usize;
        let recorded = |p: &str| c.record.pointer(p).and_then(Value::as_str).unwrap_or("");
        from_envelope += (share.owner.is_some()
            && recorded("/recipientAccountId").is_empty()
            && recorded("/userIdentity/accountId").is_empty()) as usize;
    }
    // Enough of each kind that a wrong verdict on any of them would be seen.
    assert!(shares > 300, "only {shares} shares in 2000 records");
    assert!(public > 50, "only {public} public shares");
    assert!(many > 50, "only {many} shares with 3 or more targets");
    assert!(
        from_text > 20,
        "only {from_text} shares from string requestParameters"
    );
    assert!(
        from_envelope > 5,
        "only {from_envelope} owners from the envelope"
    );
    assert!(
        shares < 1600,
        "{shares} shares in 2000 records: the negative cases are not reached"
    );
}

/// Some fixed points, so that the model itself is checked against the README's words.
#[test]
fn the_model_reads_the_readme_as_written() {
    let base = |params: Value| {
        json!({
            "eventSource": "ec2.amazonaws.com",
            "eventName": "ModifySnapshotAttribute",
            "recipientAccountId": OWNER,
            "requestParameters": params,
        })
    };
    let targets = |record: &Value, trusted: &[&str]| {
        let trusted: Vec<String> = trusted.iter().map(|s| s.to_string()).collect();
        model(record, None, &trusted).map(|s| s.targets)
    };
    let add = |items: Value| {
        base(json!({"attributeType": "CREATE_VOLUME_PERMISSION",
                    "createVolumePermission": {"add": {"items": items}}}))
    };
    let acct = |id: &str| Want::Account(id.to_owned());
    assert_eq!(
        targets(
            &add(json!([{"userId": "444455556666"}, {"group": "all"}, {"userId": "444455556666"}])),
            &[]
        ),
        Some(vec![acct("444455556666"), Want::Public])
    );
    assert_eq!(targets(&add(json!([{"userId": OWNER}])), &[]), None);
    assert_eq!(
        targets(&add(json!([{"userId": "444455556666"}])), &["444455556666"]),
        None
    );
    assert_eq!(
        targets(&add(json!([{"group": "all"}])), &["all"]),
        Some(vec![Want::Public]),
        "a public share always is a finding"
    );
    let removed =
        base(json!({"createVolumePermission": {"remove": {"items": [{"group": "all"}]}}}));
    assert_eq!(targets(&removed, &[]), None);
    let other = base(json!({"attributeType": "productCodes",
                            "createVolumePermission": {"add": {"items": [{"group": "all"}]}}}));
    assert_eq!(targets(&other, &[]), None);
    let absent = base(json!({"createVolumePermission": {"add": {"items": [{"group": "all"}]}}}));
    assert_eq!(targets(&absent, &[]), Some(vec![Want::Public]));
}

// ---------------------------------------------------------------------------------------------
// 1b. The reader on generated files
// ---------------------------------------------------------------------------------------------

/// A small deterministic generator for per-character choices (escapes, whitespace), seeded
/// by proptest.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn one_in(&mut self, n: u64) -> bool {
        n != 0 && self.next().is_multiple_of(n)
    }
}

/// How a file is written: escapes and whitespace, chosen per character from a seed.
#[derive(Debug, Clone, Copy)]
struct Style {
    seed: u64,
    /// 0: plain; 1: some letters of the event name as `\u` escapes; 2: also non-ASCII and
    /// one character in 8; 3: one character in 2, `/` as `\/` too.
    escapes: u8,
    /// 0: compact; 1: one space; 2: random runs of blanks, tabs and line ends.
    blanks: u8,
}

struct Writer {
    rng: Rng,
    style: Style,
    out: String,
}

impl Writer {
    fn new(style: Style) -> Self {
        Writer {
            rng: Rng::new(style.seed),
            style,
            out: String::new(),
        }
    }

    fn blank(&mut self) {
        match self.style.blanks {
            0 => {}
            1 => self.out.push(' '),
            _ => {
                let n = self.rng.next() % 4;
                for _ in 0..n {
                    let c = [' ', '\t', '\n', '\r'][(self.rng.next() % 4) as usize];
                    self.out.push(c);
                }
            }
        }
    }

    fn escape(&mut self, c: char) {
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            if self.rng.one_in(2) {
                self.out.push_str(&format!("\\u{unit:04X}"));
            } else {
                self.out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }

    fn string(&mut self, text: &str) {
        self.out.push('"');
        let name_here = text.contains("ModifySnapshotAttribute");
        for c in text.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' if self.rng.one_in(2) => self.out.push_str("\\n"),
                '\t' if self.rng.one_in(2) => self.out.push_str("\\t"),
                c if (c as u32) < 0x20 => self.escape(c),
                '/' if self.style.escapes >= 3 && self.rng.one_in(2) => self.out.push_str("\\/"),
                c => {
                    let escape = match self.style.escapes {
                        0 => false,
                        1 => name_here && c.is_ascii_alphabetic() && self.rng.one_in(6),
                        2 => !c.is_ascii() || self.rng.one_in(8),
                        _ => self.rng.one_in(2),
                    };
                    if escape {
                        self.escape(c)
                    } else {
                        self.out.push(c)
                    }
                }
            }
        }
        self.out.push('"');
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Object(map) => {
                self.out.push('{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.blank();
                    self.string(k);
                    self.blank();
                    self.out.push(':');
                    self.blank();
                    self.value(v);
                    self.blank();
                }
                self.out.push('}');
            }
            Value::Array(items) => {
                self.out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.blank();
                    self.value(v);
                    self.blank();
                }
                self.out.push(']');
            }
            Value::String(text) => self.string(text),
            other => self.out.push_str(&other.to_string()),
        }
    }

    /// `v` as its own string.
    fn text(&mut self, v: &Value) -> String {
        let start = self.out.len();
        self.value(v);
        self.out.split_off(start)
    }
}

/// A top-level value of a file.
#[derive(Debug, Clone)]
enum Chunk {
    /// `{"Records": [...]}`; `escaped_key`: the key written with a `\u` escape (the splitter
    /// then sees one big record, which the reader must still read through); `trailer`: another
    /// member after `Records`.
    LogFile {
        records: Vec<Case>,
        escaped_key: bool,
        trailer: bool,
    },
    /// `[...]`.
    Array(Vec<Case>),
    /// A bare record or EventBridge event (JSON Lines, concatenated).
    Bare(Case),
}

#[derive(Debug, Clone)]
struct FileSpec {
    chunks: Vec<Chunk>,
    /// Between top-level values.
    separator: &'static str,
    bom: bool,
    style: Style,
    gzip: Option<GzipSpec>,
    trusted: (String, Vec<String>),
    /// Sizes of the reads the reader gets (cycled); empty: all at once.
    reads: Vec<usize>,
}

#[derive(Debug, Clone)]
struct GzipSpec {
    level: u32,
    /// Where the plain text is cut into gzip members, as fractions of its length (‰).
    cuts: Vec<u16>,
}

/// A record as the reader should see it: an EventBridge event when the case has an envelope.
fn wrapped(c: &Case) -> Value {
    match &c.envelope {
        None => c.record.clone(),
        Some(account) => json!({
            "version": "0",
            "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.ec2",
            "account": account,
            "time": "2024-08-01T12:28:02Z",
            "region": "us-east-1",
            "resources": [],
            "detail": c.record,
        }),
    }
}

fn chunk() -> impl Strategy<Value = Chunk> {
    let records = prop::collection::vec(case(), 0..6);
    prop_oneof![
        4 => (prop::collection::vec(case(), 0..6), prop::bool::weighted(0.15), any::<bool>()).prop_map(
            |(records, escaped_key, trailer)| Chunk::LogFile { records, escaped_key, trailer }
        ),
        2 => records.prop_map(Chunk::Array),
        3 => case().prop_map(Chunk::Bare),
    ]
}

fn file_spec() -> impl Strategy<Value = FileSpec> {
    let style = (any::<u64>(), 0..4u8, 0..3u8).prop_map(|(seed, escapes, blanks)| Style {
        seed,
        escapes,
        blanks,
    });
    let gzip = prop::option::weighted(
        0.5,
        (0..10u32, prop::collection::vec(0..=1000u16, 0..4))
            .prop_map(|(level, cuts)| GzipSpec { level, cuts }),
    );
    let reads = prop_oneof![
        1 => Just(vec![]),
        2 => prop::collection::vec(1..64usize, 1..8),
        1 => prop::collection::vec(1..4096usize, 1..4),
    ];
    (
        prop::collection::vec(chunk(), 0..5),
        select(vec!["", "\n", "\r\n", " ", "\n\n\t"]),
        prop::bool::weighted(0.2),
        style,
        gzip,
        trusted(),
        reads,
    )
        .prop_map(
            |(chunks, separator, bom, style, gzip, trusted, reads)| FileSpec {
                chunks,
                separator,
                bom,
                style,
                gzip,
                trusted,
                reads,
            },
        )
}

/// A generated file: its bytes and what the reader must report.
struct Built {
    bytes: Vec<u8>,
    /// The decompressed text.
    text: Vec<u8>,
    /// Each record slice the splitter should cut, with its length and its findings.
    slices: Vec<(usize, Vec<String>)>,
}

const ORIGIN: &str = "s3://bucket/AWSLogs/111122223333/CloudTrail/us-east-1/prop.json.gz";

/// The findings of one record, evaluated directly.
fn direct_findings(c: &Case, trusted: &TrustedAccounts) -> Vec<String> {
    let view = Record::new(&c.record).unwrap();
    let Some(share) = rule::evaluate(&view, c.envelope.as_deref(), trusted) else {
        return vec![];
    };
    share
        .targets
        .iter()
        .map(|t| Finding::new(&view, &share, t, Some(ORIGIN)).to_json())
        .collect()
}

fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn build(spec: &FileSpec) -> Built {
    let trusted = TrustedAccounts::parse(&spec.trusted.0);
    let mut w = Writer::new(spec.style);
    let mut text = String::new();
    let mut slices = Vec::new();
    if spec.bom {
        text.push('\u{FEFF}');
    }
    for (i, chunk) in spec.chunks.iter().enumerate() {
        if i > 0 {
            text.push_str(spec.separator);
        }
        match chunk {
            Chunk::LogFile {
                records,
                escaped_key,
                trailer,
            } => {
                let key = if *escaped_key {
                    "R\\u0065cords"
                } else {
                    "Records"
                };
                let mut body = Vec::new();
                let mut all = Vec::new();
                for c in records {
                    let t = w.text(&wrapped(c));
                    let found = direct_findings(c, &trusted);
                    all.extend(found.iter().cloned());
                    body.push((t, found));
                }
                let joined = body
                    .iter()
                    .map(|(t, _)| t.as_str())
                    .collect::<Vec<_>>()
                    .join(",\n");
                let tail = if *trailer { ",\"x\":\"]}{\"" } else { "" };
                let file = format!("{{\"{key}\": [{joined}]{tail}}}");
                if *escaped_key {
                    slices.push((file.len(), all));
                } else {
                    slices.extend(body.into_iter().map(|(t, f)| (t.len(), f)));
                }
                text.push_str(&file);
            }
            Chunk::Array(records) => {
                let mut parts = Vec::new();
                for c in records {
                    let t = w.text(&wrapped(c));
                    slices.push((t.len(), direct_findings(c, &trusted)));
                    parts.push(t);
                }
                text.push_str(&format!("[{}]", parts.join(" ,")));
            }
            Chunk::Bare(c) => {
                let t = w.text(&wrapped(c));
                slices.push((t.len(), direct_findings(c, &trusted)));
                text.push_str(&t);
            }
        }
    }
    let text = text.into_bytes();
    Built {
        bytes: encode(&text, spec.gzip.as_ref()),
        text,
        slices,
    }
}

/// `text` as the file holds it: plain, or gzip in one or more members.
fn encode(text: &[u8], gzip_spec: Option<&GzipSpec>) -> Vec<u8> {
    let Some(g) = gzip_spec else {
        return text.to_vec();
    };
    let mut cuts: Vec<usize> = g
        .cuts
        .iter()
        .map(|&c| text.len() * c as usize / 1000)
        .collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([text.len()]) {
        out.extend(gzip(&text[from..cut], g.level));
        from = cut;
    }
    out
}

/// Hands out the input in reads of the given sizes (cycled).
struct Reads<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    next: usize,
}

impl Read for Reads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = if self.sizes.is_empty() {
            buf.len()
        } else {
            self.next += 1;
            self.sizes[(self.next - 1) % self.sizes.len()]
        };
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn scan(bytes: &[u8], reads: &[usize], trusted: &str, limits: Limits) -> (Vec<String>, ScanReport) {
    let trusted = TrustedAccounts::parse(trusted);
    let opts = ScanOptions {
        trusted: &trusted,
        limits,
        origin: Some(ORIGIN),
        progress: None,
    };
    let input = Reads {
        data: bytes,
        sizes: reads,
        next: 0,
    };
    let mut out = Vec::new();
    let report = reader::scan(input, &opts, &mut |f: Finding| out.push(f.to_json()));
    (out, report)
}

/// What holds of every report, whatever the input.
fn check_report(
    input: &[u8],
    findings: &[String],
    report: &ScanReport,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(report.findings, findings.len() as u64);
    prop_assert_eq!(
        report.errors.len() as u64,
        report.error_count.min(MAX_KEPT_ERRORS as u64)
    );
    prop_assert!(report.candidates <= report.records);
    prop_assert!(report.error_count <= report.records);
    let gz = input.starts_with(&[0x1f, 0x8b]);
    prop_assert_eq!(report.compressed, gz);
    if !gz {
        prop_assert!(report.bytes <= input.len() as u64);
        if report.fatal.is_none() {
            prop_assert_eq!(report.bytes, input.len() as u64);
        }
    }
    prop_assert_eq!(report.is_clean(), report.error_summary().is_none());
    for e in &report.errors {
        prop_assert!(e.index >= 1 && e.index <= report.records, "{}", e);
        prop_assert!(e.offset <= report.bytes, "{}", e);
    }
    for f in findings {
        let v: Value = serde_json::from_str(f).unwrap();
        prop_assert!(
            v["userId"].is_string() && v["finding_id"].is_string(),
            "{}",
            f
        );
    }
    Ok(())
}

/// Is `small` a subsequence of `big`?
fn subsequence(small: &[String], big: &[String]) -> bool {
    let mut it = big.iter();
    small.iter().all(|s| it.any(|b| b == s))
}

proptest! {
    #![proptest_config(config(256))]

    /// Every shape, plain or gzip (in several members), read all at once or a few bytes at a
    /// time, with `\u` escapes and odd blanks: the reader finds exactly what evaluating each
    /// record directly finds, in order, and cuts exactly the expected records.
    #[test]
    fn the_reader_finds_what_the_rule_finds(spec in file_spec()) {
        let built = build(&spec);
        let (got, report) = scan(&built.bytes, &spec.reads, &spec.trusted.0, Limits::default());
        check_report(&built.bytes, &got, &report)?;
        prop_assert!(report.is_clean(), "{:?}", report.error_summary());
        let want: Vec<String> = built.slices.iter().flat_map(|(_, f)| f.clone()).collect();
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(report.records, built.slices.len() as u64);
        prop_assert_eq!(report.bytes, built.text.len() as u64);
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// A record no longer than `MAX_RECORD_BYTES` is never dropped; a longer one may be, and
    /// is then an error of its own; nothing else changes. Past `MAX_OBJECT_BYTES` reading
    /// stops with the findings before the cap.
    #[test]
    fn limits_drop_records_and_stop_reading_but_change_nothing_else(
        spec in file_spec(),
        record_limit in 1..3000usize,
        object_fraction in 0..1000u64,
    ) {
        let built = build(&spec);
        let all: Vec<String> = built.slices.iter().flat_map(|(_, f)| f.clone()).collect();
        let kept: Vec<String> = built
            .slices
            .iter()
            .filter(|(len, _)| *len <= record_limit)
            .flat_map(|(_, f)| f.clone())
            .collect();
        let limits = Limits { max_record_bytes: record_limit, ..Limits::default() };
        let (got, report) = scan(&built.bytes, &spec.reads, &spec.trusted.0, limits);
        check_report(&built.bytes, &got, &report)?;
        prop_assert!(report.fatal.is_none(), "{:?}", report.fatal);
        prop_assert!(subsequence(&got, &all), "findings that a full read does not give");
        prop_assert!(subsequence(&kept, &got), "a record within the limit was dropped");
        prop_assert_eq!(report.records, built.slices.len() as u64);
        let long = built.slices.iter().filter(|(len, _)| *len > record_limit).count() as u64;
        prop_assert!(report.error_count <= long);
        for e in &report.errors {
            prop_assert!(
                matches!(e.kind, RecordErrorKind::TooLarge { .. }),
                "{}", e
            );
        }

        let cap = built.text.len() as u64 * object_fraction / 1000;
        let limits = Limits { max_object_bytes: cap, ..Limits::default() };
        let (got, report) = scan(&built.bytes, &spec.reads, &spec.trusted.0, limits);
        check_report(&built.bytes, &got, &report)?;
        prop_assert!(all.starts_with(&got), "not a prefix of the full findings");
        if (built.text.len() as u64) > cap {
            prop_assert!(
                matches!(report.fatal, Some(ReadError::TooLarge { .. })),
                "{:?}", report.fatal
            );
        }
    }

    /// A file cut anywhere gives a prefix of the findings of the whole; a gzip member cut
    /// anywhere is an error.
    #[test]
    fn a_truncated_file_gives_a_prefix_of_the_findings(
        spec in file_spec(),
        cut in 0..1000usize,
    ) {
        let built = build(&spec);
        let all: Vec<String> = built.slices.iter().flat_map(|(_, f)| f.clone()).collect();
        let at = built.bytes.len() * cut / 1000;
        let cut_bytes = &built.bytes[..at];
        let (got, report) = scan(cut_bytes, &spec.reads, &spec.trusted.0, Limits::default());
        check_report(cut_bytes, &got, &report)?;
        prop_assert!(all.starts_with(&got), "not a prefix of the full findings");
        let one_member = spec.gzip.as_ref().is_some_and(|g| g.cuts.is_empty());
        if one_member && at >= 2 {
            prop_assert!(!report.is_clean(), "a truncated gzip file read as clean");
        }
    }

}

proptest! {
    #![proptest_config(config(400))]

    /// Random byte mutations of a valid file (of its bytes, or of its text before gzip)
    /// never panic and leave a consistent report; if the mutated file is still valid JSON
    /// (and gzip), the reader reports no syntax error, and a clean read gives the findings of
    /// a full parse.
    #[test]
    fn mutated_files_never_panic(
        spec in file_spec(),
        edits in prop::collection::vec(byte_edit(), 1..6),
        before_gzip in any::<bool>(),
    ) {
        let built = build(&spec);
        let bytes = if before_gzip {
            let mut text = built.text.clone();
            for e in &edits {
                e.apply(&mut text);
            }
            encode(&text, spec.gzip.as_ref())
        } else {
            let mut bytes = built.bytes.clone();
            for e in &edits {
                e.apply(&mut bytes);
            }
            bytes
        };
        let (got, report) = scan(&bytes, &spec.reads, &spec.trusted.0, Limits::default());
        check_report(&bytes, &got, &report)?;
        if let Some((want, ambiguous)) = full_parse(&bytes, &spec.trusted.0) {
            prop_assert!(report.fatal.is_none(), "{:?}", report.fatal);
            for e in &report.errors {
                prop_assert!(
                    matches!(
                        e.kind,
                        RecordErrorKind::NotAnObject(_)
                            | RecordErrorKind::NotCloudTrail(_)
                            | RecordErrorKind::Container(_)
                            | RecordErrorKind::TooLarge { .. }
                    ),
                    "valid JSON, yet {}", e
                );
            }
            if report.is_clean() && !ambiguous {
                prop_assert_eq!(got, want);
            }
        }
    }
}

/// The plain path: inflate everything, parse the whole text with `serde_json`, evaluate every
/// record. `None` when the input is not valid gzip or JSON; with the findings, whether the
/// input is one on which the plain path is no oracle (see [`ambiguous_log_file`]).
fn full_parse(bytes: &[u8], trusted: &str) -> Option<(Vec<String>, bool)> {
    let mut data = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        MultiGzDecoder::new(bytes).read_to_end(&mut data).ok()?;
    } else {
        data.extend_from_slice(bytes);
    }
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&data);
    let trusted = TrustedAccounts::parse(trusted);
    let mut out = Vec::new();
    let mut ambiguous = false;
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    let mut start = 0;
    while let Some(value) = values.next() {
        let value = value.ok()?;
        let end = values.byte_offset();
        ambiguous |= ambiguous_log_file(&value, &data[start..end]);
        start = end;
        for_each_record(&value, &mut |record, account| {
            if let Some(share) = rule::evaluate(&record, account, &trusted) {
                for target in &share.targets {
                    out.push(Finding::new(&record, &share, target, Some(ORIGIN)).to_json());
                }
            }
        });
    }
    Some((out, ambiguous))
}

/// A top-level object with a `Records` member that also repeats `Records` (the reader
/// streams the first array when it is the first member; `serde_json` keeps the last) or is
/// also an EventBridge "via CloudTrail" event (`for_each_record` then takes only its
/// `detail`). Neither is a real input; on them the two paths may differ by design.
fn ambiguous_log_file(value: &Value, raw: &[u8]) -> bool {
    use serde::de::{IgnoredAny, MapAccess, Visitor};

    /// How many members of an object are named `Records`.
    struct RecordsKeys(usize);
    impl<'de> serde::Deserialize<'de> for RecordsKeys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Count;
            impl<'de> Visitor<'de> for Count {
                type Value = RecordsKeys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RecordsKeys, A::Error> {
                    let mut n = 0;
                    while let Some(key) = map.next_key::<String>()? {
                        n += usize::from(key == "Records");
                        map.next_value::<IgnoredAny>()?;
                    }
                    Ok(RecordsKeys(n))
                }
            }
            d.deserialize_map(Count)
        }
    }

    let Some(map) = value.as_object() else {
        return false;
    };
    if !map.contains_key("Records") {
        return false;
    }
    let eventbridge = map
        .get("detail-type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with("via CloudTrail"))
        && map.get("detail").is_some_and(Value::is_object);
    eventbridge || serde_json::from_slice::<RecordsKeys>(raw).map_or(true, |k| k.0 > 1)
}

/// One byte-level edit; positions are fractions (‰) of the current length.
#[derive(Debug, Clone)]
enum ByteEdit {
    Flip {
        at: u16,
        bit: u8,
    },
    Set {
        at: u16,
        byte: u8,
    },
    Insert {
        at: u16,
        bytes: Vec<u8>,
    },
    Delete {
        at: u16,
        len: u8,
    },
    Duplicate {
        at: u16,
        len: u8,
    },
    Truncate {
        at: u16,
    },
    /// The first letter or digit from `at` on becomes `byte` (one of the same kind): mostly
    /// still valid JSON, so that the comparison with a full parse has work to do.
    Letter {
        at: u16,
        byte: u8,
    },
}

/// Bytes that matter to a JSON splitter or to UTF-8.
const INTERESTING: &[u8] = b"\"\\{}[],:\n\r \t0-eu\x00\x1f\x7f\x80\xbf\xc3\xef\xf0\xff";

fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![select(INTERESTING.to_vec()), any::<u8>()]
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let at = 0..=1000u16;
    prop_oneof![
        3 => (at.clone(), 0..8u8).prop_map(|(at, bit)| ByteEdit::Flip { at, bit }),
        3 => (at.clone(), interesting_byte()).prop_map(|(at, byte)| ByteEdit::Set { at, byte }),
        2 => (at.clone(), prop::collection::vec(interesting_byte(), 1..4))
            .prop_map(|(at, bytes)| ByteEdit::Insert { at, bytes }),
        2 => (at.clone(), 1..64u8).prop_map(|(at, len)| ByteEdit::Delete { at, len }),
        1 => (at.clone(), 1..64u8).prop_map(|(at, len)| ByteEdit::Duplicate { at, len }),
        1 => at.clone().prop_map(|at| ByteEdit::Truncate { at }),
        6 => (at, select(b"MSAadmnoprstuyl0123456789".to_vec()))
            .prop_map(|(at, byte)| ByteEdit::Letter { at, byte }),
    ]
}

impl ByteEdit {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let pos = |at: u16, len: usize| len * at as usize / 1000;
        let len = bytes.len();
        match self {
            ByteEdit::Flip { at, bit } if len > 0 => {
                let i = pos(*at, len - 1);
                bytes[i] ^= 1 << bit;
            }
            ByteEdit::Set { at, byte } if len > 0 => {
                let i = pos(*at, len - 1);
                bytes[i] = *byte;
            }
            ByteEdit::Insert { at, bytes: new } => {
                let i = pos(*at, len);
                bytes.splice(i..i, new.iter().copied());
            }
            ByteEdit::Delete { at, len: n } => {
                let i = pos(*at, len);
                let end = (i + *n as usize).min(len);
                bytes.drain(i..end);
            }
            ByteEdit::Duplicate { at, len: n } => {
                let i = pos(*at, len);
                let end = (i + *n as usize).min(len);
                let copy = bytes[i..end].to_vec();
                bytes.splice(end..end, copy);
            }
            ByteEdit::Truncate { at } => bytes.truncate(pos(*at, len)),
            ByteEdit::Letter { at, byte } => {
                let from = pos(*at, len);
                let same_kind = |b: u8| b.is_ascii_digit() == byte.is_ascii_digit();
                if let Some(b) = bytes[from..]
                    .iter_mut()
                    .find(|b| b.is_ascii_alphanumeric() && same_kind(**b))
                {
                    *b = *byte;
                }
            }
            _ => {}
        }
    }
}

/// Found by the `reader` fuzz target: flate2's readers return an error, and drop what they
/// inflated in the same `read`, when they meet a corrupt deflate block, so records wholly
/// before the corruption went unevaluated depending on how the bytes arrived. `src/gzip.rs`
/// hands over every byte inflated before the fault.
#[test]
fn corrupt_gzip_keeps_the_findings_before_the_corruption() {
    // The fuzzer's 661-byte file: a share inflates in full before the corruption; read one
    // byte at a time it is found, read at once nothing is ("after 0 decompressed bytes").
    let bytes =
        std::fs::read("fuzz/regressions/reader/corrupt-deflate-drops-decoded-records.gz").unwrap();
    let (trickle, report) = scan(&bytes, &[1], "", Limits::default());
    assert_eq!(trickle.len(), 1, "{:?}", report.error_summary());
    let (whole, report) = scan(&bytes, &[], "", Limits::default());
    assert_eq!(whole, trickle, "{:?}", report.error_summary());

    // The corpus file with one byte changed 94% of the way in: 1,016,757 bytes inflate
    // before the corruption, holding 4 shares; the reader sees 786,432 bytes and 1 share.
    let mut bytes =
        std::fs::read("tests/fixtures/corpus/all-corpus-records.Records.json.gz").unwrap();
    bytes[125_926] ^= 0x55;
    let (whole, report) = scan(&bytes, &[], "", Limits::default());
    assert!(
        matches!(report.fatal, Some(ReadError::Io { .. })),
        "{:?}",
        report.fatal
    );
    assert_eq!(whole.len(), 4, "{:?}", report.error_summary());
}

#[test]
fn the_file_generator_makes_findings_and_every_shape() {
    let specs = sample(file_spec(), 200);
    let mut findings = 0;
    let mut gzip_members = 0;
    let mut escaped = 0;
    let mut small_reads = 0;
    for spec in &specs {
        let built = build(spec);
        findings += built.slices.iter().map(|(_, f)| f.len()).sum::<usize>();
        gzip_members += spec.gzip.as_ref().is_some_and(|g| !g.cuts.is_empty()) as usize;
        escaped += (spec.style.escapes > 0 && built.text.windows(2).any(|w| w == b"\\u")) as usize;
        small_reads += spec.reads.iter().any(|&n| n < 64) as usize;
    }
    assert!(findings > 300, "only {findings} findings in 200 files");
    assert!(
        gzip_members > 30,
        "only {gzip_members} multi-member gzip files"
    );
    assert!(escaped > 30, "only {escaped} files with \\u escapes");
    assert!(
        small_reads > 30,
        "only {small_reads} files read a few bytes at a time"
    );
}

// ---------------------------------------------------------------------------------------------
// 1c. The trigger on arbitrary and mutated payloads
// ---------------------------------------------------------------------------------------------

/// Keys and strings the trigger looks for, so that arbitrary values reach its branches.
const KEYS: &[&str] = &[
    "Records",
    "eventSource",
    "EventSource",
    "eventName",
    "eventVersion",
    "messageId",
    "body",
    "Sns",
    "Message",
    "Type",
    "detail-type",
    "detail",
    "source",
    "account",
    "s3",
    "bucket",
    "name",
    "object",
    "key",
    "size",
    "versionId",
    "version-id",
    "s3Bucket",
    "s3ObjectKey",
    "Event",
    "",
];
const STRINGS: &[&str] = &[
    "aws:sqs",
    "aws:sns",
    "aws:s3",
    "ObjectCreated:Put",
    "ObjectRemoved:Delete",
    "Notification",
    "AWS API Call via CloudTrail",
    "AWS Service Event via CloudTrail",
    "Object Created",
    "aws.s3",
    "aws.ec2",
    "s3:TestEvent",
    "ModifySnapshotAttribute",
    "ec2.amazonaws.com",
    "AWSLogs/1/CloudTrail/x.json.gz",
    "a%2Fb+c%ZZ%e9",
    "",
    "\u{1F600}\u{0}",
];

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => (-1e300f64..1e300).prop_map(Value::from),
        3 => select(STRINGS.to_vec()).prop_map(Value::from),
        1 => any::<String>().prop_map(Value::String),
    ];
    let key = prop_oneof![4 => select(KEYS.to_vec()).prop_map(str::to_owned), 1 => any::<String>()];
    leaf.prop_recursive(6, 96, 8, move |inner| {
        prop_oneof![
            2 => prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            4 => prop::collection::btree_map(key.clone(), inner.clone(), 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            // A payload inside a string: SQS bodies and SNS messages.
            1 => inner.clone().prop_map(|v| Value::String(v.to_string())),
            // The envelopes the trigger knows, with arbitrary values in their fields.
            4 => (select((0..9).collect::<Vec<_>>()), inner.clone(), inner)
                .prop_map(|(shape, a, b)| envelope_shape(shape, a, b)),
        ]
    })
}

/// Envelope `shape` (one of 9) around the arbitrary values `a` and `b`.
fn envelope_shape(shape: usize, a: Value, b: Value) -> Value {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match shape {
        0 => json!({"Records": [{"messageId": "m-1", "eventSource": "aws:sqs", "body": text(&a)},
                                {"messageId": b, "eventSource": "aws:sqs", "body": text(&b)}]}),
        1 => json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": text(&a)}}, b]}),
        2 => json!({"Type": "Notification", "Message": text(&a), "MessageId": b}),
        3 => json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
                    "account": b, "detail": a}),
        4 => json!({"detail-type": "Object Created", "source": "aws.s3",
                    "detail": {"bucket": {"name": a}, "object": {"key": b, "size": 5}}}),
        5 => json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                 "s3": {"bucket": {"name": "b"},
                                        "object": {"key": a, "size": b}}}]}),
        6 => json!({"s3Bucket": a, "s3ObjectKey": [b, "AWSLogs/x.json.gz"]}),
        7 => json!({"Records": [{"eventName": a, "eventVersion": "1.09"}, b]}),
        _ => json!({"eventName": "ModifySnapshotAttribute", "eventSource": a,
                    "requestParameters": b}),
    }
}

/// What holds of every classification.
fn check_invocation(payload: &Value, inv: &Invocation) -> Result<(), TestCaseError> {
    if inv.trigger == Trigger::Sqs {
        let records = payload["Records"].as_array().unwrap();
        prop_assert_eq!(inv.units.len(), records.len());
        prop_assert!(inv.units.iter().all(|u| u.message_id.is_some()));
    } else {
        prop_assert_eq!(inv.units.len(), 1);
        prop_assert!(inv.units[0].message_id.is_none());
    }
    for unit in &inv.units {
        for work in &unit.work {
            match work {
                // What the pipeline does with it: a non-object (a `Records` list given
                // directly hands over its odd items as they are) holds no record.
                Work::Record { record, account } => {
                    if let Some(view) = Record::new(record) {
                        let trusted = TrustedAccounts::parse(FOREIGN[0]);
                        if let Some(share) = rule::evaluate(&view, account.as_deref(), &trusted) {
                            prop_assert!(!share.targets.is_empty());
                            for t in &share.targets {
                                let _ = Finding::new(&view, &share, t, None).to_json();
                            }
                        }
                    }
                }
                Work::Object(o) => {
                    let _ = (o.url(), o.skip_reason());
                }
                Work::Skip(why) | Work::Invalid(why) => prop_assert!(!why.is_empty()),
            }
        }
    }
    Ok(())
}

/// The real envelopes of tests/fixtures/envelopes and the sample events, read once.
fn envelopes() -> &'static [Value] {
    static ALL: OnceLock<Vec<Value>> = OnceLock::new();
    ALL.get_or_init(read_envelopes)
}

fn read_envelopes() -> Vec<Value> {
    let mut paths: Vec<_> = std::fs::read_dir("tests/fixtures/envelopes")
        .unwrap()
        .chain(std::fs::read_dir("events").unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let values: Vec<Value> = paths
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert!(values.len() >= 20, "only {} envelopes", values.len());
    values
}

/// One edit of a JSON tree. Nodes are numbered in pre-order; a string that holds JSON (an SQS
/// body, an SNS message) counts its inner nodes too, so edits reach nested payloads.
#[derive(Debug, Clone)]
enum TreeEdit {
    Replace {
        at: u16,
        with: Value,
    },
    Remove {
        at: u16,
    },
    /// Turn the node into its JSON text (or, for a string of JSON, into the value).
    Flip {
        at: u16,
    },
}

fn tree_edit() -> impl Strategy<Value = TreeEdit> {
    let at = 0..=1000u16;
    prop_oneof![
        3 => (at.clone(), arbitrary_json()).prop_map(|(at, with)| TreeEdit::Replace { at, with }),
        2 => (at.clone(), select(STRINGS.to_vec()))
            .prop_map(|(at, s)| TreeEdit::Replace { at, with: Value::from(s) }),
        3 => at.clone().prop_map(|at| TreeEdit::Remove { at }),
        1 => at.prop_map(|at| TreeEdit::Flip { at }),
    ]
}

fn inner_json(s: &str) -> Option<Value> {
    serde_json::from_str::<Value>(s)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(map) => map.values().map(count_nodes).sum(),
        Value::String(s) => inner_json(s).map_or(0, |inner| count_nodes(&inner)),
        _ => 0,
    }
}

/// Applies `edit` to node number `*n` of `v` (counting down); true once applied.
fn edit_node(v: &mut Value, n: &mut usize, edit: &TreeEdit) -> bool {
    if *n == 0 {
        match edit {
            TreeEdit::Replace { with, .. } => *v = with.clone(),
            TreeEdit::Remove { .. } => *v = Value::Null,
            TreeEdit::Flip { .. } => {
                *v = match &*v {
                    Value::String(s) => inner_json(s).unwrap_or_else(|| Value::String(s.clone())),
                    other => Value::String(other.to_string()),
                }
            }
        }
        return true;
    }
    *n -= 1;
    match v {
        Value::Array(items) => {
            for i in 0..items.len() {
                if *n == 0 && matches!(edit, TreeEdit::Remove { .. }) {
                    items.remove(i);
                    return true;
                }
                if edit_node(&mut items[i], n, edit) {
                    return true;
                }
            }
            false
        }
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if *n == 0 && matches!(edit, TreeEdit::Remove { .. }) {
                    map.remove(&k);
                    return true;
                }
                if edit_node(map.get_mut(&k).unwrap(), n, edit) {
                    return true;
                }
            }
            false
        }
        Value::String(s) => {
            let Some(mut inner) = inner_json(s) else {
                return false;
            };
            if edit_node(&mut inner, n, edit) {
                *s = inner.to_string();
                return true;
            }
            false
        }
        _ => false,
    }
}

/// `payload` after `edits`, each at its fraction of the current tree.
fn edited(payload: &Value, edits: &[TreeEdit]) -> Value {
    let mut payload = payload.clone();
    for e in edits {
        let at = match e {
            TreeEdit::Replace { at, .. } | TreeEdit::Remove { at } | TreeEdit::Flip { at } => *at,
        };
        let mut n = (count_nodes(&payload) - 1) * at as usize / 1000;
        edit_node(&mut payload, &mut n, e);
    }
    payload
}

fn sqs_event(body: String) -> Value {
    json!({"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "eventSource": "aws:sqs",
        "body": body,
    }]})
}

proptest! {
    #![proptest_config(config(1000))]

    /// `classify` never panics on any JSON value, and its answer has the right shape.
    #[test]
    fn classify_never_panics(payload in arbitrary_json()) {
        let inv = trigger::classify(payload.clone());
        check_invocation(&payload, &inv)?;
        let sqs = sqs_event(payload.to_string());
        let inv = trigger::classify(sqs.clone());
        check_invocation(&sqs, &inv)?;
    }
}

proptest! {
    #![proptest_config(config(600))]

    /// Real envelopes (and the sample events), edited anywhere in their tree (nested payloads
    /// included) or mutated byte by byte, never make `classify` panic; nor do the mutated bytes
    /// as an SQS message body.
    #[test]
    fn classify_never_panics_on_mutated_envelopes(
        which in any::<prop::sample::Index>(),
        tree_edits in prop::collection::vec(tree_edit(), 0..4),
        byte_edits in prop::collection::vec(byte_edit(), 0..4),
    ) {
        let payload = edited(which.get(envelopes()), &tree_edits);
        let inv = trigger::classify(payload.clone());
        check_invocation(&payload, &inv)?;

        let mut bytes = payload.to_string().into_bytes();
        for e in &byte_edits {
            e.apply(&mut bytes);
        }
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            let inv = trigger::classify(value.clone());
            check_invocation(&value, &inv)?;
        }
        let sqs = sqs_event(String::from_utf8_lossy(&bytes).into_owned());
        let inv = trigger::classify(sqs.clone());
        check_invocation(&sqs, &inv)?;
    }
}

#[test]
fn the_payload_generators_reach_every_envelope() {
    let mut seen = BTreeSet::new();
    for payload in sample(arbitrary_json(), 1000) {
        seen.insert(trigger::classify(payload).trigger.as_str());
    }
    let edits = sample(
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(tree_edit(), 0..4),
        ),
        300,
    );
    for (which, tree_edits) in edits {
        let payload = edited(which.get(envelopes()), &tree_edits);
        seen.insert(trigger::classify(payload).trigger.as_str());
    }
    for kind in [
        "sqs",
        "sns",
        "s3",
        "eventbridge-cloudtrail",
        "eventbridge-s3",
        "cloudtrail-sns",
        "s3-test",
        "cloudtrail-record",
        "unrecognised",
    ] {
        assert!(seen.contains(kind), "no {kind} payload generated: {seen:?}");
    }
}
