//! CloudTrail records, as lenient as real trails demand.
//!
//! Real records lack fields the documentation calls standard (`sourceIPAddress`, `userAgent`,
//! `eventID` in exports and test data) and carry extra ones (Datadog and Logstash enrichment).
//! The envelopes they arrive in are `trigger::envelope`'s business. [`Record`] is a borrowed view
//! of a parsed record in which every field is optional: a field that is missing, or not of the
//! type CloudTrail documents, reads as absent. It is deliberately not
//! `aws_lambda_events::event::cloudwatch_events::cloudtrail::AWSAPICall`, which drops
//! `errorCode`, `errorMessage` and `recipientAccountId` (a failed call would look like a
//! success) and rejects records without `userAgent` or `sourceIPAddress`.

use serde_json::Value;

/// A CloudTrail record: a borrowed view of the fields the rule and the finding use.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The whole record, for a fingerprint when it has no `eventID`.
    pub raw: &'a Value,
    pub event_version: Option<&'a str>,
    pub event_source: Option<&'a str>,
    pub event_name: Option<&'a str>,
    pub event_time: Option<&'a str>,
    pub event_id: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub aws_region: Option<&'a str>,
    pub source_ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub recipient_account_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    /// `errorCode`, when set to anything but `null` or `""` (of whatever type).
    pub error_code: Option<&'a Value>,
    /// `errorMessage`, likewise.
    pub error_message: Option<&'a Value>,
    pub user_identity: UserIdentity<'a>,
    pub request_parameters: Option<&'a Value>,
}

/// The `userIdentity` block: who made the call.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserIdentity<'a> {
    pub kind: Option<&'a str>,
    pub arn: Option<&'a str>,
    pub account_id: Option<&'a str>,
    pub access_key_id: Option<&'a str>,
    pub principal_id: Option<&'a str>,
    pub user_name: Option<&'a str>,
    pub invoked_by: Option<&'a str>,
    pub session_issuer_arn: Option<&'a str>,
}

/// A non-empty string field of `v`.
pub(crate) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A field of `v` that is set: present, not `null` and not the empty string.
fn set<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key)
        .filter(|x| !x.is_null() && x.as_str() != Some(""))
}

impl<'a> Record<'a> {
    /// Views `raw` as a record. `None` when it is not a JSON object.
    pub fn new(raw: &'a Value) -> Option<Self> {
        raw.as_object()?;
        let identity = raw.get("userIdentity").unwrap_or(&Value::Null);
        Some(Record {
            raw,
            event_version: text(raw, "eventVersion"),
            event_source: text(raw, "eventSource"),
            event_name: text(raw, "eventName"),
            event_time: text(raw, "eventTime"),
            event_id: text(raw, "eventID"),
            event_type: text(raw, "eventType"),
            aws_region: text(raw, "awsRegion"),
            source_ip_address: text(raw, "sourceIPAddress"),
            user_agent: text(raw, "userAgent"),
            recipient_account_id: text(raw, "recipientAccountId"),
            request_id: text(raw, "requestID"),
            error_code: set(raw, "errorCode"),
            error_message: set(raw, "errorMessage"),
            user_identity: UserIdentity {
                kind: text(identity, "type"),
                arn: text(identity, "arn"),
                account_id: text(identity, "accountId"),
                access_key_id: text(identity, "accessKeyId"),
                principal_id: text(identity, "principalId"),
                user_name: text(identity, "userName"),
                invoked_by: text(identity, "invokedBy"),
                session_issuer_arn: identity
                    .get("sessionContext")
                    .and_then(|c| c.get("sessionIssuer"))
                    .and_then(|i| text(i, "arn")),
            },
            request_parameters: raw.get("requestParameters").filter(|v| !v.is_null()),
        })
    }

    /// Whether CloudTrail recorded the call as failed.
    pub fn failed(&self) -> bool {
        self.error_code.is_some() || self.error_message.is_some()
    }

    /// The account that owns the resource: `recipientAccountId`, else the caller's account,
    /// else the account of the envelope the record came in.
    pub fn owner(&self, envelope_account: Option<&'a str>) -> Option<&'a str> {
        self.recipient_account_id
            .or(self.user_identity.account_id)
            .or(envelope_account.filter(|s| !s.is_empty()))
    }
}

/// The JSON type of a value, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_and_mistyped_fields_read_as_absent() {
        let raw = json!({
            "eventName": "ModifySnapshotAttribute",
            "eventSource": 7,
            "userAgent": "",
            "userIdentity": "not an object",
            "requestParameters": null,
        });
        let r = Record::new(&raw).unwrap();
        assert_eq!(r.event_name, Some("ModifySnapshotAttribute"));
        assert_eq!(r.event_source, None);
        assert_eq!(r.user_agent, None);
        assert_eq!(r.source_ip_address, None);
        assert_eq!(r.user_identity.arn, None);
        assert!(r.request_parameters.is_none());
        assert!(Record::new(&json!([1])).is_none());
    }

    #[test]
    fn any_non_empty_error_field_means_failed() {
        for (field, value, failed) in [
            ("errorCode", json!("Client.InvalidSnapshot.NotFound"), true),
            ("errorCode", json!(""), false),
            ("errorCode", json!(null), false),
            ("errorCode", json!(403), true),
            ("errorMessage", json!("denied"), true),
            ("errorMessage", json!({"a": 1}), true),
        ] {
            let raw = json!({ field: value });
            assert_eq!(
                Record::new(&raw).unwrap().failed(),
                failed,
                "{field}: {value}"
            );
        }
        assert!(!Record::new(&json!({})).unwrap().failed());
    }

    #[test]
    fn owner_falls_back_from_recipient_to_caller_to_envelope() {
        let both = json!({"recipientAccountId": "111", "userIdentity": {"accountId": "222"}});
        assert_eq!(Record::new(&both).unwrap().owner(Some("333")), Some("111"));
        let caller = json!({"userIdentity": {"accountId": "222"}});
        assert_eq!(
            Record::new(&caller).unwrap().owner(Some("333")),
            Some("222")
        );
        let none = json!({"recipientAccountId": ""});
        assert_eq!(Record::new(&none).unwrap().owner(Some("333")), Some("333"));
        assert_eq!(Record::new(&none).unwrap().owner(None), None);
    }
}
