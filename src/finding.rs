//! The finding: what an analyst receives for each detection of any rule, the same on SNS and
//! on stdout.
//!
//! The layout is ECS-style nested objects (`rule.*`, `event.*`, `cloud.*`, `aws.cloudtrail.*`,
//! `source.*`, `user_agent.*`) so that it lands in Elastic or OpenSearch without mapping work,
//! plus the Elastic rules' own output columns: the resource's id (`snapshotId`, `imageId`,
//! ...), `attributeType`, `operationType` and `userId`, flat and named exactly so. A key whose source field is absent is left out,
//! never invented.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cloudtrail::Record;

mod build;
mod lifecycle;
mod observed;
mod remediation;
mod resource;
mod time;
pub use lifecycle::{share_id, Place, Status};
pub use observed::{exposure_id, AuditInfo, Observation};
pub use remediation::{Outcome, Remediation};
pub use resource::{Change, Detection, Resource, ResourceType, Target};
pub(crate) use time::days_in_month;
pub use time::{epoch_ms_of, normalize_time, rfc3339_of_epoch};

/// Longest string copied from a record into a finding, in bytes. CloudTrail content is partly
/// chosen by the caller (`userAgent`); the bound keeps a finding, and a batch of ten, well
/// inside SNS's 256 KiB.
pub const MAX_FIELD_BYTES: usize = 2048;

/// Who a rule is, as every finding of it says (`rule.*`) and as Security Hub and OCSF will
/// name it: declared once per rule, in its module under `rule/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// A UUID; also the namespace of the rule's finding ids (UUIDv5), so that two rules never
    /// share an id.
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// Elastic's scale: `low` 21, `medium` 47, `high` 73, `critical` 99.
    pub severity: &'static str,
    pub risk_score: u32,
    /// What happened, in one word, for filter policies (`finding_kind`): `share`, `use`, ...
    pub kind: &'static str,
    pub technique: Technique,
    /// Whether its findings report a state that a later event or the audit can end (a share,
    /// a switched-off guard): they carry a `share_id` and can be resolved. A use or a failed
    /// attempt is an event of the past and stays as it was.
    pub resolvable: bool,
}

/// A MITRE ATT&CK technique and its tactic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Technique {
    pub tactic_id: &'static str,
    pub tactic_name: &'static str,
    pub id: &'static str,
    pub name: &'static str,
}

/// Transfer Data to Cloud Account, the technique every rule here is about.
pub const T1537: Technique = Technique {
    tactic_id: "TA0010",
    tactic_name: "Exfiltration",
    id: "T1537",
    name: "Transfer Data to Cloud Account",
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Deterministic: the same record and target always give the same id, so that a
    /// consumer can drop the copies a retry delivers.
    pub finding_id: String,
    /// `resolved` when the finding closes a share (a removal, the audit no longer seeing it);
    /// absent while open.
    #[serde(default, skip_serializing_if = "Status::is_open")]
    pub status: Status,
    /// The share the finding is about, the same for the finding that opened it and the
    /// resolution that closes it ([`share_id`]); absent for a rule whose findings are events of
    /// the past (a use, a failed attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_id: Option<String>,
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
    /// The resource, written as its own column (`snapshotId`, `imageId`, ...).
    #[serde(flatten)]
    pub resource: Resource,
    #[serde(rename = "attributeType", skip_serializing_if = "Option::is_none")]
    pub attribute_type: Option<String>,
    /// `add` for a grant; absent when no permission was changed (a use).
    #[serde(rename = "operationType", skip_serializing_if = "Option::is_none")]
    pub operation_type: Option<String>,
    /// The target ([`Target::user_id`]): an account id, `all` for a public share, an
    /// organization or OU ARN; for a use, the account that used the snapshot (`unknown` when
    /// the record does not say).
    #[serde(rename = "userId")]
    pub user_id: String,
    /// Whether the grant made the resource public; absent when no permission was changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    /// What is known of the target account (`ORGANIZATION_ACCOUNTS`); absent when nothing is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetInfo>,
    /// The log file the record was read from, when it came from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogInfo>,
    /// The call's error, for a call that failed (ECS `error.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// For a finding of the audit (a state, not an event): what made it rate as it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditInfo>,
    /// What the detector did about it (`REMEDIATE`); absent when it did not try.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
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
    /// `eventTime` as the record gave it, only when it could not be read as a time (then
    /// `@timestamp` is absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_time: Option<String>,
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
pub struct TargetInfo {
    /// Whether the target account belongs to the organization; absent when unknown (a public
    /// share, or the organization's accounts could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_member: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogInfo {
    pub file: LogFile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogFile {
    pub path: String,
}

/// UUIDv5, under the rule's namespace (its id), of the record's identity and the target. The
/// identity is the `eventID`; a record without one is identified by its whole content
/// (serde_json writes object keys sorted, so the same record gives the same bytes however it
/// was formatted or wrapped).
pub fn finding_id(rule: &Identity, record: &Record<'_>, target: &Target) -> String {
    let namespace = Uuid::try_parse(rule.id).unwrap_or(Uuid::NAMESPACE_OID);
    let mut name = match record.event_id {
        Some(id) => format!("eventID:{id}"),
        None => format!("record:{}", record.raw),
    }
    .into_bytes();
    name.push(b'\n');
    name.extend_from_slice(target.user_id().as_bytes());
    Uuid::new_v5(&namespace, &name).to_string()
}

/// `s` bounded to [`MAX_FIELD_BYTES`], cut at a character boundary, with a mark when cut.
pub fn clip(s: &str) -> String {
    crate::text::clip_with(s, MAX_FIELD_BYTES, "…[truncated]")
}
