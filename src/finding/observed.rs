//! Building a finding from what the audit observed in an account (a resource's permission as it
//! is now), not from a CloudTrail record: the same shape, with `event.kind: state`, the call that
//! read the state as `event.action`, and no caller (nobody made a call that the audit saw).

use super::*;

/// Where and when the audit read a state, and with which call.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The account that owns the resource.
    pub account: &'a str,
    pub region: &'a str,
    /// The call that read the permission: `DescribeSnapshotAttribute`, ...
    pub action: &'a str,
    /// `ec2.amazonaws.com`, `rds.amazonaws.com`.
    pub provider: &'a str,
    /// RFC 3339, UTC.
    pub time: &'a str,
}

/// What the audit adds to its findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditInfo {
    /// Whether the target can use the resource now. A snapshot whose attribute says public is
    /// not reachable while the region's block public access is `block-all-sharing`.
    pub reachable: bool,
    /// The region's block public access state for the resource's kind, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_public_access: Option<String>,
    /// The IAM Access Analyzer whose active finding reported the share, when the audit took it
    /// from there instead of reading the resource's permission (`--access-analyzer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyzer: Option<String>,
}

/// UUIDv5, under the rule's namespace, of (account, region, resource, target): the same
/// exposure gets the same id in every audit, so that a daily audit is de-duplicated by the
/// table that de-duplicates the rules' findings, and alerts once.
pub fn exposure_id(
    rule: &Identity,
    seen: &Observation<'_>,
    resource: &Resource,
    target: &Target,
) -> String {
    let place = Place {
        account: Some(seen.account),
        region: Some(seen.region),
    };
    share_id(rule, place, resource, target)
}

impl Finding {
    /// The finding of an exposure the audit observed. `rule` gives the identity; `severity`
    /// and `risk_score`, when given, replace the rule's (an exposure nobody can reach rates
    /// lower than one anybody can).
    pub fn observed(
        rule: &Identity,
        seen: &Observation<'_>,
        detection: Detection,
        rating: Option<(&str, u32)>,
        audit: AuditInfo,
    ) -> Self {
        let Detection {
            resource,
            owner: _,
            target,
            change,
            message,
            status,
        } = detection;
        let mut info = RuleInfo::from(rule);
        if let Some((severity, risk)) = rating {
            info.severity = severity.to_owned();
            info.risk_score = risk;
        }
        let id = exposure_id(rule, seen, &resource, &target);
        Finding {
            finding_id: id.clone(),
            status,
            share_id: Some(id),
            timestamp: Some(seen.time.to_owned()),
            message,
            rule: info,
            event: EventInfo {
                id: None,
                original_time: None,
                action: seen.action.to_owned(),
                provider: seen.provider.to_owned(),
                outcome: "success".to_owned(),
                kind: "state".to_owned(),
            },
            cloud: CloudInfo {
                provider: "aws".to_owned(),
                account: Some(AccountInfo {
                    id: clip(seen.account),
                }),
                region: Some(clip(seen.region)),
            },
            aws: AwsInfo {
                cloudtrail: CloudTrailInfo {
                    user_identity: UserIdentityInfo::default(),
                    request_id: None,
                    event_version: None,
                    event_type: None,
                    recipient_account_id: Some(clip(seen.account)),
                },
            },
            source: None,
            user_agent: None,
            resource: Resource {
                kind: resource.kind,
                id: resource.id.as_deref().map(clip),
            },
            attribute_type: change
                .as_ref()
                .and_then(|c| c.attribute.as_deref().map(clip)),
            operation_type: None,
            user_id: clip(target.user_id()),
            public: Some(target.is_public()),
            target: None,
            log: None,
            error: None,
            audit: Some(audit),
            remediation: None,
        }
    }
}
