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
use crate::rule::Use;

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

impl Finding {
    /// The finding for one target of `share`, found in `record`. `origin` names the log file
    /// the record was read from (`s3://bucket/key`, a local path), if any.
    pub fn new(record: &Record<'_>, share: &Share, target: &Target, origin: Option<&str>) -> Self {
        let what = match target {
            Target::Public => "made public".to_owned(),
            Target::Account(id) => format!("shared with account {}", clip(id)),
        };
        let actor = record.user_identity.arn.map(clip);
        let message = format!(
            "EBS snapshot {} of account {} was {} by {}",
            share
                .snapshot_id
                .as_deref()
                .map(clip)
                .as_deref()
                .unwrap_or("(unknown id)"),
            share
                .owner
                .as_deref()
                .map(clip)
                .as_deref()
                .unwrap_or("(unknown)"),
            what,
            actor.as_deref().unwrap_or("an unknown principal"),
        );
        let mut f = Finding::common(
            record,
            RuleInfo::share(),
            finding_id(record, target),
            message,
            share.owner.as_deref(),
            share.snapshot_id.as_deref(),
            target.user_id(),
            origin,
        );
        f.attribute_type = share.attribute_type.as_deref().map(clip);
        f.operation_type = Some("add".to_owned());
        f.public = Some(target.is_public());
        f
    }

    /// The finding for a use of a shared snapshot, found in `record`.
    pub fn used(record: &Record<'_>, found: &Use, origin: Option<&str>) -> Self {
        let user = found.user.as_deref().unwrap_or("unknown");
        let message = format!(
            "EBS snapshot {} of account {} was {} by account {}",
            found
                .snapshot_id
                .as_deref()
                .map(clip)
                .as_deref()
                .unwrap_or("(unknown id)"),
            found
                .owner
                .as_deref()
                .map(clip)
                .as_deref()
                .unwrap_or("(unknown)"),
            found.kind.verb(),
            clip(user),
        );
        Finding::common(
            record,
            RuleInfo::used(),
            used_finding_id(record, user),
            message,
            found.owner.as_deref(),
            found.snapshot_id.as_deref(),
            user,
            origin,
        )
    }

    /// What both kinds of finding take from the record.
    #[allow(clippy::too_many_arguments)]
    fn common(
        record: &Record<'_>,
        rule: RuleInfo,
        finding_id: String,
        message: String,
        owner: Option<&str>,
        snapshot: Option<&str>,
        user_id: &str,
        origin: Option<&str>,
    ) -> Self {
        let identity = &record.user_identity;
        let (timestamp, original_time) = match record.event_time {
            Some(text) => match normalize_time(text) {
                Some(time) => (Some(time), None),
                None => (None, Some(clip(text))),
            },
            None => (None, None),
        };
        Finding {
            finding_id,
            timestamp,
            message,
            rule,
            event: EventInfo {
                id: record.event_id.map(clip),
                original_time,
                action: record.event_name.map(clip).unwrap_or_default(),
                provider: record.event_source.map(clip).unwrap_or_default(),
                outcome: "success".to_owned(),
                kind: "alert".to_owned(),
            },
            cloud: CloudInfo {
                provider: "aws".to_owned(),
                account: owner.map(|id| AccountInfo { id: clip(id) }),
                region: record.aws_region.map(clip),
            },
            aws: AwsInfo {
                cloudtrail: CloudTrailInfo {
                    user_identity: UserIdentityInfo {
                        arn: identity.arn.map(clip),
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
            snapshot_id: snapshot.map(clip),
            attribute_type: None,
            operation_type: None,
            user_id: clip(user_id),
            public: None,
            target: None,
            log: origin.map(|path| LogInfo {
                file: LogFile {
                    path: path.to_owned(),
                },
            }),
        }
    }

    /// Whether this is a use of a shared snapshot (the second rule), not a share.
    pub fn is_use(&self) -> bool {
        self.rule.id == USED_RULE_ID
    }

    /// `share` or `use`: the kind of finding, for SNS attributes and readers that do not keep
    /// rule ids in mind.
    pub fn kind(&self) -> &'static str {
        if self.is_use() {
            "use"
        } else {
            "share"
        }
    }

    /// Whether the share made the snapshot public.
    pub fn is_public(&self) -> bool {
        self.public == Some(true)
    }

    /// The finding as one line of JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings, numbers and booleans cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl RuleInfo {
    fn share() -> Self {
        RuleInfo {
            id: RULE_ID.to_owned(),
            name: RULE_NAME.to_owned(),
            description: "An EBS snapshot was shared with another AWS account or made public; \
                          the data on it can be restored there (exfiltration)."
                .to_owned(),
            severity: SEVERITY.to_owned(),
            risk_score: RISK_SCORE,
            threat: Threat::t1537(),
        }
    }

    fn used() -> Self {
        RuleInfo {
            id: USED_RULE_ID.to_owned(),
            name: USED_RULE_NAME.to_owned(),
            description: "Another AWS account copied an EBS snapshot shared with it, or created \
                          a volume from it: the data on the snapshot is now in that account \
                          (exfiltration)."
                .to_owned(),
            severity: USED_SEVERITY.to_owned(),
            risk_score: USED_RISK_SCORE,
            threat: Threat::t1537(),
        }
    }
}

impl Threat {
    fn t1537() -> Self {
        Threat {
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

/// UUIDv5, under the use rule's namespace, of the record's identity (as in [`finding_id`]) and
/// the account that used the snapshot.
pub fn used_finding_id(record: &Record<'_>, user: &str) -> String {
    let mut name = match record.event_id {
        Some(id) => format!("eventID:{id}").into_bytes(),
        None => {
            let mut bytes = b"record:".to_vec();
            bytes.extend_from_slice(&serde_json::to_vec(record.raw).unwrap_or_default());
            bytes
        }
    };
    name.push(b'\n');
    name.extend_from_slice(user.as_bytes());
    Uuid::new_v5(&USED_ID_NAMESPACE, &name).to_string()
}

/// `eventTime` as RFC 3339 in UTC (`2022-09-29T22:28:40Z`), from the forms records come in:
/// RFC 3339 / ISO 8601 with `T` or a space between date and time, with or without fractional
/// seconds (kept as given, up to nine digits), with `Z`, an offset (`+02:00`, `+0200`, `+02`)
/// or no zone at all (read as UTC: CloudTrail writes UTC, and exports that drop the `Z`, such
/// as Panther's test records, keep UTC values). `None` when the text is none of these, or not
/// a real date and time.
pub fn normalize_time(text: &str) -> Option<String> {
    let b = text.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let year = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (month, day) = (num(5, 2)?, num(8, 2)?);
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (hour, minute) = (num(11, 2)?, num(14, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let second = num(17, 2)?;
    let mut at = 19;
    let mut fraction = "";
    if matches!(b.get(at), Some(b'.' | b',')) {
        let start = at + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return None;
        }
        // ASCII digits: the slice is valid UTF-8.
        fraction = std::str::from_utf8(&b[start..end.min(start + 9)]).ok()?;
        at = end;
    }
    let offset_minutes = match &b[at..] {
        [] | [b'Z' | b'z'] => 0,
        [b' ', rest @ ..] if rest.eq_ignore_ascii_case(b"UTC") || rest == b"Z" => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [h1, h2] => (two(*h1, *h2)?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (two(*h1, *h2)?, two(*m1, *m2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_minutes * 60;
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    out.push('Z');
    Some(out)
}

fn two(a: u8, b: u8) -> Option<i64> {
    (a.is_ascii_digit() && b.is_ascii_digit())
        .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
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
