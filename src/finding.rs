//! The finding: what an analyst receives for each share, the same on SNS and on stdout.
//!
//! The layout is ECS-style nested objects (`rule.*`, `event.*`, `cloud.*`, `aws.cloudtrail.*`,
//! `source.*`, `user_agent.*`) so that it lands in Elastic or OpenSearch without mapping work,
//! plus the Elastic rule's own output columns `snapshotId`, `attributeType`, `operationType`
//! and `userId`, flat and named exactly so. A key whose source field is absent is left out,
//! never invented.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cloudtrail::Record;
use crate::rule::{Share, Target, EVENT_NAME};

pub const RULE_ID: &str = "4182e486-fc61-11ee-a05d-f661ea17fbce";
pub const RULE_NAME: &str = "AWS EC2 EBS Snapshot Shared with Another Account";
pub const SEVERITY: &str = "low";
pub const RISK_SCORE: u32 = 21;

/// The namespace of finding ids: the rule id itself, so ids are UUIDv5 names under the rule.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x4182e486_fc61_11ee_a05d_f661ea17fbce);

/// Longest string copied from a record into a finding, in bytes. CloudTrail content is partly
/// chosen by the caller (`userAgent`); the bound keeps a finding, and a batch of ten, well
/// inside SNS's 256 KiB.
pub const MAX_FIELD_BYTES: usize = 2048;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Deterministic: the same record and target always give the same id, so that a
    /// consumer can drop the copies a retry delivers.
    pub finding_id: String,
    #[serde(rename = "@timestamp", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    pub message: String,
    pub rule: RuleInfo,
    pub event: EventInfo,
    pub cloud: CloudInfo,
    pub aws: AwsInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<UserAgentInfo>,
    #[serde(rename = "snapshotId", skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    #[serde(rename = "attributeType", skip_serializing_if = "Option::is_none")]
    pub attribute_type: Option<String>,
    #[serde(rename = "operationType")]
    pub operation_type: String,
    /// The target account id, or `all` for a public share.
    #[serde(rename = "userId")]
    pub user_id: String,
    pub public: bool,
    /// The log file the record was read from, when it came from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub severity: String,
    pub risk_score: u32,
    pub threat: Threat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threat {
    pub framework: String,
    pub tactic: ThreatItem,
    pub technique: ThreatItem,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreatItem {
    pub id: String,
    pub name: String,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub action: String,
    pub provider: String,
    pub outcome: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudInfo {
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwsInfo {
    pub cloudtrail: CloudTrailInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudTrailInfo {
    pub user_identity: UserIdentityInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_account_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UserIdentityInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_issuer_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// `sourceIPAddress` as CloudTrail gave it: an address, or a service name such as
    /// `backup.amazonaws.com`.
    pub address: String,
    /// The same, when it is an IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserAgentInfo {
    pub original: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogInfo {
    pub file: LogFile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogFile {
    pub path: String,
}

impl Finding {
    /// The finding for one target of `share`, found in `record`. `origin` names the log file
    /// the record was read from (`s3://bucket/key`, a local path), if any.
    pub fn new(record: &Record<'_>, share: &Share, target: &Target, origin: Option<&str>) -> Self {
        let snapshot = share.snapshot_id.as_deref().map(clip);
        let actor = record.user_identity.arn.map(clip);
        let what = match target {
            Target::Public => "made public".to_owned(),
            Target::Account(id) => format!("shared with account {}", clip(id)),
        };
        let message = format!(
            "EBS snapshot {} of account {} was {} by {}",
            snapshot.as_deref().unwrap_or("(unknown id)"),
            share
                .owner
                .as_deref()
                .map(clip)
                .as_deref()
                .unwrap_or("(unknown)"),
            what,
            actor.as_deref().unwrap_or("an unknown principal"),
        );
        let identity = &record.user_identity;
        Finding {
            finding_id: finding_id(record, target),
            timestamp: record.event_time.map(clip),
            message,
            rule: RuleInfo::ours(),
            event: EventInfo {
                id: record.event_id.map(clip),
                action: EVENT_NAME.to_owned(),
                provider: record.event_source.map(clip).unwrap_or_default(),
                outcome: "success".to_owned(),
                kind: "alert".to_owned(),
            },
            cloud: CloudInfo {
                provider: "aws".to_owned(),
                account: share
                    .owner
                    .as_deref()
                    .map(|id| AccountInfo { id: clip(id) }),
                region: record.aws_region.map(clip),
            },
            aws: AwsInfo {
                cloudtrail: CloudTrailInfo {
                    user_identity: UserIdentityInfo {
                        arn: actor,
                        kind: identity.kind.map(clip),
                        access_key_id: identity.access_key_id.map(clip),
                        principal_id: identity.principal_id.map(clip),
                        user_name: identity.user_name.map(clip),
                        invoked_by: identity.invoked_by.map(clip),
                        session_issuer_arn: identity.session_issuer_arn.map(clip),
                    },
                    request_id: record.request_id.map(clip),
                    event_version: record.event_version.map(clip),
                    event_type: record.event_type.map(clip),
                    recipient_account_id: record.recipient_account_id.map(clip),
                },
            },
            source: record.source_ip_address.map(|address| SourceInfo {
                ip: address.parse::<IpAddr>().ok().map(|ip| ip.to_string()),
                address: clip(address),
            }),
            user_agent: record
                .user_agent
                .map(|ua| UserAgentInfo { original: clip(ua) }),
            snapshot_id: snapshot,
            attribute_type: share.attribute_type.as_deref().map(clip),
            operation_type: "add".to_owned(),
            user_id: clip(target.user_id()),
            public: target.is_public(),
            log: origin.map(|path| LogInfo {
                file: LogFile {
                    path: path.to_owned(),
                },
            }),
        }
    }

    /// The finding as one line of JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings, numbers and booleans cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A one-line SNS subject under 100 characters, for e-mail subscribers.
    pub fn subject(&self) -> String {
        let snapshot = self.snapshot_id.as_deref().unwrap_or("(unknown)");
        let subject = if self.public {
            format!(
                "[{SEVERITY}] EBS snapshot {} made public",
                subject_safe(snapshot, 32)
            )
        } else {
            format!(
                "[{SEVERITY}] EBS snapshot {} shared with {}",
                subject_safe(snapshot, 32),
                subject_safe(&self.user_id, 24)
            )
        };
        debug_assert!(subject.len() < 100);
        subject
    }

    /// SNS message attributes for subscription filter policies: (name, data type, value).
    pub fn attributes(&self) -> Vec<(&'static str, &'static str, String)> {
        vec![
            ("severity", "String", self.rule.severity.clone()),
            ("risk_score", "Number", self.rule.risk_score.to_string()),
            ("rule_id", "String", self.rule.id.clone()),
            ("event_action", "String", self.event.action.clone()),
            ("target_account", "String", self.user_id.clone()),
            ("public", "String", self.public.to_string()),
        ]
    }
}

impl RuleInfo {
    fn ours() -> Self {
        RuleInfo {
            id: RULE_ID.to_owned(),
            name: RULE_NAME.to_owned(),
            description: "An EBS snapshot was shared with another AWS account or made public; \
                          the data on it can be restored there (exfiltration)."
                .to_owned(),
            severity: SEVERITY.to_owned(),
            risk_score: RISK_SCORE,
            threat: Threat {
                framework: "MITRE ATT&CK".to_owned(),
                tactic: ThreatItem {
                    id: "TA0010".to_owned(),
                    name: "Exfiltration".to_owned(),
                    reference: "https://attack.mitre.org/tactics/TA0010/".to_owned(),
                },
                technique: ThreatItem {
                    id: "T1537".to_owned(),
                    name: "Transfer Data to Cloud Account".to_owned(),
                    reference: "https://attack.mitre.org/techniques/T1537/".to_owned(),
                },
            },
        }
    }
}

/// UUIDv5 of the record's identity and the target. The identity is the `eventID`; a record
/// without one is identified by its whole content (serde_json writes object keys sorted, so the
/// same record gives the same bytes however it was formatted or wrapped).
pub fn finding_id(record: &Record<'_>, target: &Target) -> String {
    let mut name = match record.event_id {
        Some(id) => format!("eventID:{id}").into_bytes(),
        None => {
            let mut bytes = b"record:".to_vec();
            bytes.extend_from_slice(&serde_json::to_vec(record.raw).unwrap_or_default());
            bytes
        }
    };
    name.push(b'\n');
    name.extend_from_slice(target.user_id().as_bytes());
    Uuid::new_v5(&ID_NAMESPACE, &name).to_string()
}

/// `s` bounded to [`MAX_FIELD_BYTES`], cut at a character boundary, with a mark when cut.
fn clip(s: &str) -> String {
    if s.len() <= MAX_FIELD_BYTES {
        return s.to_owned();
    }
    let mut end = MAX_FIELD_BYTES - "…[truncated]".len();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[truncated]", &s[..end])
}

/// Printable ASCII only (SNS subjects allow no control characters), at most `max` characters.
fn subject_safe(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('~');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{evaluate, TrustedAccounts};
    use serde_json::json;

    fn share_record() -> serde_json::Value {
        json!({
            "eventVersion": "1.09",
            "eventID": "6897ff63-d738-445c-9e86-43e5b1f8e12f",
            "eventTime": "2024-08-01T12:28:02Z",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "ModifySnapshotAttribute",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.15",
            "recipientAccountId": "756680937392",
            "requestID": "aeddc4a7",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::756680937392:user/c",
                             "accountId": "756680937392", "accessKeyId": "AKIAEXAMPLE"},
            "requestParameters": {"snapshotId": "snap-041993b54a9b3af6f",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"userId": "098797384747"}, {"group": "all"}]}}}
        })
    }

    fn findings(raw: &serde_json::Value) -> Vec<Finding> {
        let record = Record::new(raw).unwrap();
        let share = evaluate(&record, None, &TrustedAccounts::default()).unwrap();
        share
            .targets
            .iter()
            .map(|t| Finding::new(&record, &share, t, None))
            .collect()
    }

    #[test]
    fn carries_what_an_analyst_needs() {
        let raw = share_record();
        let f = &findings(&raw)[0];
        let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
        assert_eq!(v["@timestamp"], "2024-08-01T12:28:02Z");
        assert_eq!(v["rule"]["id"], RULE_ID);
        assert_eq!(v["rule"]["severity"], "low");
        assert_eq!(v["rule"]["risk_score"], 21);
        assert_eq!(v["rule"]["threat"]["technique"]["id"], "T1537");
        assert_eq!(v["rule"]["threat"]["tactic"]["id"], "TA0010");
        assert_eq!(v["event"]["id"], "6897ff63-d738-445c-9e86-43e5b1f8e12f");
        assert_eq!(v["event"]["action"], "ModifySnapshotAttribute");
        assert_eq!(v["event"]["provider"], "ec2.amazonaws.com");
        assert_eq!(v["event"]["outcome"], "success");
        assert_eq!(v["cloud"]["account"]["id"], "756680937392");
        assert_eq!(v["cloud"]["region"], "us-east-1");
        let ct = &v["aws"]["cloudtrail"];
        assert_eq!(
            ct["user_identity"]["arn"],
            "arn:aws:iam::756680937392:user/c"
        );
        assert_eq!(ct["user_identity"]["type"], "IAMUser");
        assert_eq!(ct["user_identity"]["access_key_id"], "AKIAEXAMPLE");
        assert_eq!(ct["request_id"], "aeddc4a7");
        assert_eq!(v["source"]["address"], "203.0.113.7");
        assert_eq!(v["source"]["ip"], "203.0.113.7");
        assert_eq!(v["user_agent"]["original"], "aws-cli/2.15");
        assert_eq!(v["snapshotId"], "snap-041993b54a9b3af6f");
        assert_eq!(v["attributeType"], "CREATE_VOLUME_PERMISSION");
        assert_eq!(v["operationType"], "add");
        assert_eq!(v["userId"], "098797384747");
        assert_eq!(v["public"], false);
        assert!(v.get("log").is_none());
    }

    #[test]
    fn absent_fields_are_left_out() {
        let raw = json!({
            "eventSource": "ec2.amazonaws.com", "eventName": "ModifySnapshotAttribute",
            "requestParameters": {"createVolumePermission": {"add": {"items": [{"userId": "1"}]}}}
        });
        let v: serde_json::Value = serde_json::from_str(&findings(&raw)[0].to_json()).unwrap();
        for key in [
            "@timestamp",
            "source",
            "user_agent",
            "snapshotId",
            "attributeType",
        ] {
            assert!(v.get(key).is_none(), "{key} should be absent: {v}");
        }
        assert!(v["event"].get("id").is_none());
        assert!(v["cloud"].get("account").is_none());
        assert_eq!(v["aws"]["cloudtrail"]["user_identity"], json!({}));
    }

    #[test]
    fn service_names_are_an_address_but_not_an_ip() {
        let mut raw = share_record();
        raw["sourceIPAddress"] = json!("backup.amazonaws.com");
        let f = &findings(&raw)[0];
        let source = f.source.as_ref().unwrap();
        assert_eq!(source.address, "backup.amazonaws.com");
        assert_eq!(source.ip, None);
    }

    #[test]
    fn ids_are_deterministic_and_distinct_per_target() {
        let raw = share_record();
        let a = findings(&raw);
        let b = findings(&raw);
        assert_eq!(a[0].finding_id, b[0].finding_id);
        assert_ne!(a[0].finding_id, a[1].finding_id);
        // Without eventID the content decides, not the formatting or key order.
        let mut no_id = share_record();
        no_id.as_object_mut().unwrap().remove("eventID");
        let text = serde_json::to_string_pretty(&no_id).unwrap();
        let reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            findings(&no_id)[0].finding_id,
            findings(&reparsed)[0].finding_id
        );
        assert_ne!(findings(&no_id)[0].finding_id, a[0].finding_id);
        let mut other = no_id.clone();
        other["eventTime"] = json!("2024-08-01T12:28:03Z");
        assert_ne!(
            findings(&other)[0].finding_id,
            findings(&no_id)[0].finding_id
        );
    }

    #[test]
    fn subjects_are_short_and_printable() {
        let raw = share_record();
        let f = findings(&raw);
        assert_eq!(
            f[0].subject(),
            "[low] EBS snapshot snap-041993b54a9b3af6f shared with 098797384747"
        );
        assert_eq!(
            f[1].subject(),
            "[low] EBS snapshot snap-041993b54a9b3af6f made public"
        );
        let mut hostile = share_record();
        hostile["requestParameters"]["snapshotId"] = json!(format!("snap-\n{}", "x".repeat(500)));
        let s = findings(&hostile)[0].subject();
        assert!(s.len() < 100 && !s.contains('\n'), "{s}");
    }

    #[test]
    fn long_fields_are_clipped_at_a_char_boundary() {
        let mut raw = share_record();
        raw["userAgent"] = json!("é".repeat(5000));
        let f = &findings(&raw)[0];
        let ua = &f.user_agent.as_ref().unwrap().original;
        assert!(ua.len() <= MAX_FIELD_BYTES && ua.ends_with("…[truncated]"));
    }

    #[test]
    fn attributes_for_filter_policies() {
        let raw = share_record();
        let f = findings(&raw);
        let attrs = f[1].attributes();
        assert!(attrs.contains(&("severity", "String", "low".to_owned())));
        assert!(attrs.contains(&("risk_score", "Number", "21".to_owned())));
        assert!(attrs.contains(&("target_account", "String", "all".to_owned())));
        assert!(attrs.contains(&("public", "String", "true".to_owned())));
        assert!(attrs.contains(&("rule_id", "String", RULE_ID.to_owned())));
        assert!(attrs.contains(&("event_action", "String", EVENT_NAME.to_owned())));
    }
}
