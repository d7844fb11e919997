//! The finding: what an analyst receives for each share, the same on SNS and on stdout.
//!
//! The layout is ECS-style nested objects (`rule.*`, `event.*`, `cloud.*`, `aws.cloudtrail.*`,
//! `source.*`, `user_agent.*`) so that it lands in Elastic or OpenSearch without mapping work,
//! plus the Elastic rule's own output columns `snapshotId`, `attributeType`, `operationType`
//! and `userId`, flat and named exactly so. A key whose source field is absent is left out,
//! never invented.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cloudtrail::Record;

mod build;
mod time;
pub use time::normalize_time;

pub const RULE_ID: &str = "4182e486-fc61-11ee-a05d-f661ea17fbce";
pub const RULE_NAME: &str = "AWS EC2 EBS Snapshot Shared with Another Account";
pub const SEVERITY: &str = "low";
pub const RISK_SCORE: u32 = 21;

/// The second rule: another account copied a shared snapshot or created a volume from it.
/// Our own rule (Elastic has none for these events), so our own id.
pub const USED_RULE_ID: &str = "a17865ab-4667-4769-80a9-89edee6e1920";
pub const USED_RULE_NAME: &str = "AWS EC2 EBS Shared Snapshot Copied or Used by Another Account";
/// `high` (Elastic's scale: low 21, medium 47, high 73): a share is intent, and most shares go
/// to backup accounts; a use by an account that is neither the owner nor trusted means the data
/// is now in that account. That is the transfer T1537 names, done, not merely possible.
pub const USED_SEVERITY: &str = "high";
pub const USED_RISK_SCORE: u32 = 73;

/// The namespace of finding ids: the rule id itself, so ids are UUIDv5 names under the rule.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x4182e486_fc61_11ee_a05d_f661ea17fbce);
/// The same for the use rule: a share and a use never share an id.
const USED_ID_NAMESPACE: Uuid = Uuid::from_u128(0xa17865ab_4667_4769_80a9_89edee6e1920);

/// Longest string copied from a record into a finding, in bytes. CloudTrail content is partly
/// chosen by the caller (`userAgent`); the bound keeps a finding, and a batch of ten, well
/// inside SNS's 256 KiB.
pub const MAX_FIELD_BYTES: usize = 2048;

/// Who a snapshot was shared with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Another AWS account, by id as CloudTrail recorded it.
    Account(String),
    /// Everyone (`group: all`): the snapshot is public.
    Public,
}

impl Target {
    /// The rule's `userId` column: the account id, or `all`.
    pub fn user_id(&self) -> &str {
        match self {
            Target::Account(id) => id,
            Target::Public => "all",
        }
    }

    pub fn is_public(&self) -> bool {
        matches!(self, Target::Public)
    }
}

/// A snapshot share found in a record: what the finding reports besides the record itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// The account that owns the snapshot, when the record tells.
    pub owner: Option<String>,
    pub snapshot_id: Option<String>,
    pub attribute_type: Option<String>,
    /// Distinct foreign targets, in the order of the request.
    pub targets: Vec<Target>,
}

/// What the other account did with the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseKind {
    Copy,
    CreateVolume,
}

impl UseKind {
    /// The verb of the finding's message.
    pub fn verb(self) -> &'static str {
        match self {
            UseKind::Copy => "copied",
            UseKind::CreateVolume => "used to create a volume",
        }
    }
}

/// A use of a shared snapshot found in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    pub kind: UseKind,
    /// The account that owns the snapshot, when the record (or its envelope) tells.
    pub owner: Option<String>,
    pub snapshot_id: Option<String>,
    /// The account that used it (`userIdentity.accountId`); `None` when the record does not
    /// say (an export that dropped `userIdentity`): the event exists only for a use by
    /// another account, so it is still a finding.
    pub user: Option<String>,
}

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
    /// `add` for a share; absent for a use (no permission was changed).
    #[serde(rename = "operationType", skip_serializing_if = "Option::is_none")]
    pub operation_type: Option<String>,
    /// The target account id, or `all` for a public share; for a use, the account that used
    /// the snapshot (`unknown` when the record does not say).
    #[serde(rename = "userId")]
    pub user_id: String,
    /// Whether the share made the snapshot public; absent for a use (its record does not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    /// What is known of the target account (`ORGANIZATION_ACCOUNTS`); absent when nothing is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetInfo>,
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

/// UUIDv5 of the record's identity and the target. The identity is the `eventID`; a record
/// without one is identified by its whole content (serde_json writes object keys sorted, so the
/// same record gives the same bytes however it was formatted or wrapped).
pub fn finding_id(record: &Record<'_>, target: &Target) -> String {
    id_under(&ID_NAMESPACE, record, target.user_id())
}

/// UUIDv5, under the use rule's namespace, of the record's identity (as in [`finding_id`]) and
/// the account that used the snapshot.
pub fn used_finding_id(record: &Record<'_>, user: &str) -> String {
    id_under(&USED_ID_NAMESPACE, record, user)
}

/// UUIDv5 under `namespace` of the record's identity and `account`.
fn id_under(namespace: &Uuid, record: &Record<'_>, account: &str) -> String {
    let mut name = match record.event_id {
        Some(id) => format!("eventID:{id}").into_bytes(),
        None => {
            let mut bytes = b"record:".to_vec();
            bytes.extend_from_slice(&serde_json::to_vec(record.raw).unwrap_or_default());
            bytes
        }
    };
    name.push(b'\n');
    name.extend_from_slice(account.as_bytes());
    Uuid::new_v5(namespace, &name).to_string()
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
