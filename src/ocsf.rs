//! A finding as an OCSF Detection Finding (class 2004, OCSF [`VERSION`]): `scan --format ocsf`
//! and `audit --format ocsf`, for Security Lake and the SIEMs that read OCSF.
//!
//! A pure mapping of the finding (the ECS-style JSON), nothing read from elsewhere: what the
//! finding knows goes to its OCSF home, what has none goes under `unmapped` with the finding's
//! own key, and a key whose source is absent is left out, never invented. The one exception is
//! `time`, which OCSF requires: a finding whose record gave no readable time carries the time it
//! was made (`now_ms`), and the record's text in `metadata.original_time`.
//!
//! The lifecycle: an open finding is a Create (`type_uid` 200401, status New), a resolution a
//! Close (200403, status Resolved), both under `finding_info.uid` = the share's id, so that a
//! consumer closes the finding the share opened. There is no Update (200402): the detector keeps
//! no state, so it cannot tell a share seen again (a repeat of the event, the next audit) from
//! one seen first; a consumer that keys on `finding_info.uid` sees the repeat as one finding.
//! docs/ocsf.md has the table of every key.

use serde_json::{json, Map, Value};

use crate::finding::{epoch_ms_of as epoch_ms, Finding, Target};
use crate::rule;

/// The OCSF version the output follows, and the tests validate it against: the newest that
/// Amazon Security Lake accepts from a custom source.
pub const VERSION: &str = "1.1.0";
/// Detection Finding.
pub const CLASS_UID: u64 = 2004;
/// Findings.
pub const CATEGORY_UID: u64 = 2;

/// A JSON object that takes only the values it is given: `None` leaves the key out.
#[derive(Default)]
struct Obj(Map<String, Value>);

impl Obj {
    fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    fn opt<V: Into<Value>>(self, key: &str, value: Option<V>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    /// `value`, unless it is an empty object.
    fn obj(self, key: &str, value: Obj) -> Self {
        let empty = value.0.is_empty();
        self.opt(key, (!empty).then_some(Value::Object(value.0)))
    }

    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

/// The finding as one OCSF Detection Finding. `now_ms` (milliseconds since the epoch) is used
/// only for a finding without a time of its own.
pub fn detection_finding(f: &Finding, now_ms: u64) -> Value {
    let (activity_id, activity, status_id, status) = match f.is_resolution() {
        false => (1, "Create", 1, "New"),
        true => (3, "Close", 4, "Resolved"),
    };
    let (severity_id, severity) = severity(&f.rule.severity);
    let time = f.timestamp.as_deref().and_then(epoch_ms);
    let actor = actor(f);
    let api = api(f);
    let mut profiles = vec!["cloud"];
    if time.is_some() {
        profiles.push("datetime");
    }
    if actor.is_some() {
        // OCSF 1.1.0 gives a finding its `actor` through the host profile.
        profiles.push("host");
    }
    // OCSF requires a vendor; the project names none but itself (Cargo.toml has no authors).
    let product = Obj::default()
        .set("name", env!("CARGO_PKG_NAME"))
        .set("vendor_name", env!("CARGO_PKG_NAME"))
        .set("version", env!("CARGO_PKG_VERSION"));
    let metadata = Obj::default()
        .set("version", VERSION)
        .set("product", product.done())
        .set("profiles", profiles)
        .set("uid", f.finding_id.as_str())
        .opt("correlation_uid", f.share_id.as_deref())
        .opt("original_time", f.event.original_time.as_deref())
        .opt("log_name", f.log.as_ref().map(|l| l.file.path.as_str()));
    let cloud = Obj::default()
        .set("provider", "AWS")
        .opt("account", f.cloud.account.as_ref().map(|a| account(&a.id)))
        .opt("region", f.cloud.region.as_deref());
    Obj::default()
        .set("class_uid", CLASS_UID)
        .set("class_name", "Detection Finding")
        .set("category_uid", CATEGORY_UID)
        .set("category_name", "Findings")
        .set("activity_id", activity_id)
        .set("activity_name", activity)
        .set("type_uid", CLASS_UID * 100 + activity_id)
        .set("type_name", format!("Detection Finding: {activity}"))
        .set("severity_id", severity_id)
        .set("severity", severity)
        .set("status_id", status_id)
        .set("status", status)
        .set("time", time.unwrap_or(now_ms))
        .opt("time_dt", time.and(f.timestamp.as_deref()))
        .set("message", f.message.as_str())
        .set("metadata", metadata.done())
        .set("finding_info", finding_info(f, activity_id, time))
        .set("risk_score", f.rule.risk_score)
        .set("cloud", cloud.done())
        .opt("resources", resources(f))
        .opt("actor", actor.clone())
        .opt("api", api.clone())
        .opt("evidences", evidences(f, actor, api))
        .obj("unmapped", unmapped(f))
        .done()
}

/// [`detection_finding`] as one line of JSON.
pub fn to_json(f: &Finding, now_ms: u64) -> String {
    detection_finding(f, now_ms).to_string()
}

/// OCSF's `severity_id` and its caption, from Elastic's severity words the rules use.
fn severity(word: &str) -> (u64, &str) {
    match word {
        "informational" => (1, "Informational"),
        "low" => (2, "Low"),
        "medium" => (3, "Medium"),
        "high" => (4, "High"),
        "critical" => (5, "Critical"),
        // A word this build does not know: OCSF's Other, with the word as the caption.
        other => (99, other),
    }
}

/// What the finding is and who made it: the rule as the analytic, the technique as the attack.
fn finding_info(f: &Finding, activity_id: u64, time: Option<u64>) -> Value {
    let threat = &f.rule.threat;
    let attack = json!({
        "tactic": {
            "uid": threat.tactic.id,
            "name": threat.tactic.name,
            "src_url": threat.tactic.reference,
        },
        "technique": {
            "uid": threat.technique.id,
            "name": threat.technique.name,
            "src_url": threat.technique.reference,
        },
    });
    let analytic = json!({
        "uid": f.rule.id,
        "name": f.rule.name,
        "type_id": 1,
        "type": "Rule",
    });
    // A Create is when the finding began; a Close modifies the finding its share opened.
    let when = match activity_id {
        1 => "created_time",
        _ => "modified_time",
    };
    let related = f.event.id.as_deref().map(|id| vec![json!({ "uid": id })]);
    Obj::default()
        .set("uid", f.lifecycle_id())
        .set("title", f.rule.name.as_str())
        .set("desc", f.rule.description.as_str())
        .set("analytic", analytic)
        .opt("types", rule::of(f).map(|r| vec![r.identity.kind]))
        .set("attacks", vec![attack])
        .opt(when, time)
        .opt(&format!("{when}_dt"), time.and(f.timestamp.as_deref()))
        .opt("related_events", related)
        .done()
}

/// An AWS account, as OCSF's account object.
fn account(id: &str) -> Value {
    json!({ "uid": id, "type_id": 10, "type": "AWS Account" })
}

/// The resource the finding is about, and the account, organization or OU it was opened to
/// (labelled `target`; a public share has no such resource, `unmapped.public` says it).
fn resources(f: &Finding) -> Option<Vec<Value>> {
    let kind = f.resource.kind;
    let setting = kind.column().is_none();
    let mut out = Vec::new();
    if f.resource.id.is_some() || setting {
        let owner = f
            .cloud
            .account
            .as_ref()
            .map(|a| json!({ "account": account(&a.id) }));
        out.push(
            Obj::default()
                .opt("uid", f.resource.id.as_deref())
                // An account setting has no id: its name says which one it is.
                .opt("name", setting.then(|| kind.noun()))
                .set("type", kind.as_str())
                .opt("region", f.cloud.region.as_deref())
                .opt("owner", owner)
                .done(),
        );
    }
    let target_type = match Target::of_user_id(&f.user_id) {
        Target::Account(_) => Some("account"),
        Target::Organization(_) => Some("organization"),
        Target::OrganizationalUnit(_) => Some("organizational-unit"),
        Target::Public | Target::Unknown => None,
    };
    if let Some(kind) = target_type {
        out.push(json!({ "uid": f.user_id, "type": kind, "labels": ["target"] }));
    }
    (!out.is_empty()).then_some(out)
}

/// The caller, from the record's `userIdentity`, as Security Lake maps CloudTrail's: `uid` the
/// ARN, `uid_alt` the principal id, `credential_uid` the access key; absent for a finding of the
/// audit, which no caller made.
fn actor(f: &Finding) -> Option<Value> {
    let id = &f.aws.cloudtrail.user_identity;
    let user = Obj::default()
        .opt("uid", id.arn.as_deref())
        .opt("name", id.user_name.as_deref())
        .opt("type", id.kind.as_deref())
        .opt("uid_alt", id.principal_id.as_deref())
        .opt("credential_uid", id.access_key_id.as_deref());
    // OCSF's user needs an ARN or a name; a service (`AWSService`) has neither, its
    // `invoked_by` says who it is.
    let user = (id.arn.is_some() || id.user_name.is_some()).then(|| user.done());
    let session = id
        .session_issuer_arn
        .as_deref()
        .map(|arn| json!({ "issuer": arn }));
    let actor = Obj::default()
        .opt("user", user)
        .opt("session", session)
        .opt("invoked_by", id.invoked_by.as_deref());
    (!actor.0.is_empty()).then(|| actor.done())
}

/// The call the record is of; absent for a finding of the audit (see [`evidences`]).
fn api(f: &Finding) -> Option<Value> {
    if f.audit.is_some() || f.event.action.is_empty() {
        return None;
    }
    let ct = &f.aws.cloudtrail;
    let response = f.error.as_ref().map(|e| {
        Obj::default()
            .opt("error", e.code.as_deref())
            .opt("error_message", e.message.as_deref())
            .done()
    });
    let api = Obj::default()
        .set("operation", f.event.action.as_str())
        .opt(
            "service",
            (!f.event.provider.is_empty()).then(|| json!({ "name": f.event.provider })),
        )
        .opt(
            "request",
            ct.request_id.as_deref().map(|id| json!({ "uid": id })),
        )
        .opt("response", response.filter(|r| r != &json!({})));
    Some(api.done())
}

/// What the finding rests on: the event's caller, call and source address; or, for a finding
/// of the audit, the call that read the state and what it read.
fn evidences(f: &Finding, actor: Option<Value>, api: Option<Value>) -> Option<Vec<Value>> {
    let evidence = match &f.audit {
        Some(audit) => Obj::default()
            .set(
                "api",
                json!({
                    "operation": f.event.action,
                    "service": { "name": f.event.provider },
                }),
            )
            .opt("data", serde_json::to_value(audit).ok()),
        None => {
            let src = f.source.as_ref().map(|s| match &s.ip {
                Some(ip) => json!({ "ip": ip }),
                // `sourceIPAddress` may be a service's name (`backup.amazonaws.com`).
                None => json!({ "svc_name": s.address }),
            });
            Obj::default()
                .opt("actor", actor)
                .opt("api", api)
                .opt("src_endpoint", src)
        }
    };
    (!evidence.0.is_empty()).then(|| vec![evidence.done()])
}

/// What has no home in a 1.1.0 Detection Finding, under the finding's own keys.
fn unmapped(f: &Finding) -> Obj {
    let ct = &f.aws.cloudtrail;
    let cloudtrail = Obj::default()
        .opt("event_version", ct.event_version.as_deref())
        .opt("event_type", ct.event_type.as_deref())
        .opt("recipient_account_id", ct.recipient_account_id.as_deref());
    Obj::default()
        .set("userId", f.user_id.as_str())
        .opt("public", f.public)
        .opt("attributeType", f.attribute_type.as_deref())
        .opt("operationType", f.operation_type.as_deref())
        .opt(
            "target",
            f.target.as_ref().and_then(|t| serde_json::to_value(t).ok()),
        )
        .opt(
            "user_agent",
            f.user_agent
                .as_ref()
                .map(|u| json!({ "original": u.original })),
        )
        .obj("aws", Obj::default().obj("cloudtrail", cloudtrail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_map_to_ocsf_and_an_unknown_word_is_other() {
        let ids: Vec<(u64, &str)> = ["low", "medium", "high", "critical", "urgent"]
            .into_iter()
            .map(severity)
            .collect();
        assert_eq!(
            ids,
            [
                (2, "Low"),
                (3, "Medium"),
                (4, "High"),
                (5, "Critical"),
                (99, "urgent")
            ]
        );
    }

    #[test]
    fn an_empty_object_is_left_out() {
        let v = Obj::default()
            .obj("empty", Obj::default())
            .opt::<&str>("none", None)
            .done();
        assert_eq!(v, json!({}));
    }
}
