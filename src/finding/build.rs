//! Building a finding from the record it was found in: a share (one per target) or a use of a
//! shared snapshot, and the rule each reports under.

use std::net::IpAddr;

use super::*;

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
