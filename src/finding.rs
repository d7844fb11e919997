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
                action: record.event_name.map(clip).unwrap_or_default(),
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
            target: None,
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
