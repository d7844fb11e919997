//! Property tests (proptest): the rule against an independent model of the rule as
//! `docs/findings.md` states it ("The rule"), on generated records (`tests/support/cases.rs`),
//! and the model against those words.
//!
//! Case counts are set per property; `PROPTEST_CASES=N` overrides them all for a longer run.
//! Failures are not persisted to disk (proptest prints the minimal failing input instead).

mod support;

use proptest::prelude::*;
use serde_json::{json, Value};
use snapshot_share_detector::cloudtrail::Record;
use snapshot_share_detector::finding::Target;
use snapshot_share_detector::rule::{self, TrustedAccounts};
use support::cases::*;

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

/// The rule as `docs/findings.md` states it ("The rule"), written out plainly, without any
/// code of the crate.
///
/// Where that text is silent the model takes these readings, each stated in the crate's docs:
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
                other => panic!("an EBS snapshot share has no {other:?} target"),
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

/// Some fixed points, so that the model itself is checked against the words of
/// `docs/findings.md`.
#[test]
fn the_model_reads_the_documented_rule_as_written() {
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
