//! Building a finding from what a rule detected in a record: the rule's identity, the
//! detection (resource, owner, target, change, message), and what every finding takes from the
//! record itself (time, caller, source address, request ids).

use std::net::IpAddr;

use super::*;

impl Finding {
    /// The finding for `detection`, made by the rule `rule` in `record`. `origin` names the
    /// log file the record was read from (`s3://bucket/key`, a local path), if any.
    pub fn build(
        rule: &Identity,
        record: &Record<'_>,
        detection: Detection,
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
        let Detection {
            resource,
            owner,
            target,
            change,
            message,
            status,
        } = detection;
        let place = Place {
            account: owner.as_deref(),
            region: record.aws_region,
        };
        Finding {
            finding_id: finding_id(rule, record, &target),
            status,
            share_id: rule
                .resolvable
                .then(|| share_id(rule, place, &resource, &target)),
            timestamp,
            message,
            rule: RuleInfo::from(rule),
            event: EventInfo {
                id: record.event_id.map(clip),
                original_time,
                action: record.event_name.map(clip).unwrap_or_default(),
                provider: record.event_source.map(clip).unwrap_or_default(),
                outcome: if record.failed() {
                    "failure"
                } else {
                    "success"
                }
                .to_owned(),
                kind: "alert".to_owned(),
            },
            cloud: CloudInfo {
                provider: "aws".to_owned(),
                account: owner.as_deref().map(|id| AccountInfo { id: clip(id) }),
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
            resource: Resource {
                kind: resource.kind,
                id: resource.id.as_deref().map(clip),
            },
            attribute_type: change
                .as_ref()
                .and_then(|c| c.attribute.as_deref().map(clip)),
            operation_type: change.as_ref().map(|c| c.operation.to_owned()),
            user_id: clip(target.user_id()),
            public: change.as_ref().map(|_| target.is_public()),
            target: None,
            log: origin.map(|path| LogInfo {
                file: LogFile {
                    path: path.to_owned(),
                },
            }),
            error: record.failed().then(|| ErrorInfo {
                code: record.error_code.map(text_of),
                message: record.error_message.map(text_of),
            }),
            audit: None,
            remediation: None,
        }
    }

    /// Whether the finding made its resource public.
    pub fn is_public(&self) -> bool {
        self.public == Some(true)
    }

    /// The finding as one line of JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings, numbers and booleans cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A field CloudTrail writes as a string (an export may leave other JSON there), clipped.
fn text_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => clip(s),
        other => clip(&other.to_string()),
    }
}

impl From<&Identity> for RuleInfo {
    fn from(rule: &Identity) -> Self {
        let t = rule.technique;
        RuleInfo {
            id: rule.id.to_owned(),
            name: rule.name.to_owned(),
            description: rule.description.to_owned(),
            severity: rule.severity.to_owned(),
            risk_score: rule.risk_score,
            threat: Threat {
                framework: "MITRE ATT&CK".to_owned(),
                tactic: ThreatItem {
                    id: t.tactic_id.to_owned(),
                    name: t.tactic_name.to_owned(),
                    reference: format!("https://attack.mitre.org/tactics/{}/", t.tactic_id),
                },
                technique: ThreatItem {
                    id: t.id.to_owned(),
                    name: t.name.to_owned(),
                    reference: format!("https://attack.mitre.org/techniques/{}/", t.id),
                },
            },
        }
    }
}
