//! A finding in the AWS Security Finding Format (ASFF), as `BatchImportFindings` takes it.
//!
//! Choices that are not obvious from the format:
//! - `Id` is the finding's [`lifecycle_id`](Finding::lifecycle_id): for a share, the share's id,
//!   so that the event that removes it updates the finding that reported it (a removal does not
//!   know the id of the call that opened the share); for a use or a failed attempt, the
//!   finding's own id. A repeat of the same event updates the same finding.
//! - `AwsAccountId` is the resource's account when that is the account importing (the default
//!   product accepts no other), else the importing account, with the resource's account in
//!   `ProductFields` and in the resource: see docs/security-hub.md.
//! - EBS snapshots and AMIs have no ASFF resource type, so they are `Other` with their ARN;
//!   RDS snapshots are `AwsRdsDbSnapshot` / `AwsRdsDbClusterSnapshot`; a block public access
//!   setting is the account's (`AwsAccount`), as Security Hub's own control EC2.1 reports it.

use std::collections::HashMap;

use aws_sdk_securityhub::types::{
    Action, ActionRemoteIpDetails, AwsApiCallAction, AwsRdsDbClusterSnapshotDetails,
    AwsRdsDbSnapshotDetails, AwsSecurityFinding, FindingProviderFields, FindingProviderSeverity,
    Partition, Recommendation, RecordState, Remediation, Resource, ResourceDetails, Severity,
    SeverityLabel, Workflow, WorkflowStatus,
};

use crate::aws::partition_of;
use crate::finding::{Finding, ResourceType};
use crate::sink::message;
use crate::text::clip_with;

/// The ASFF version every finding declares.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// Security Hub's limits on a few fields, in characters (bytes here: a little stricter).
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 1024;
const RECOMMENDATION_MAX: usize = 512;
const PRODUCT_FIELD_MAX: usize = 2048;

/// Where findings are imported: the account and region of the calling credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hub {
    pub account: String,
    pub region: String,
}

impl Hub {
    /// The partition of the hub's region (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &'static str {
        partition_of(&self.region)
    }

    /// The account's default product: the one a custom integration imports as.
    pub fn product_arn(&self) -> String {
        let (p, r, a) = (self.partition(), &self.region, &self.account);
        format!("arn:{p}:securityhub:{r}:{a}:product/{a}/default")
    }
}

/// ASFF's severity label for ours (Elastic's scale: low, medium, high, critical).
pub fn label(severity: &str) -> SeverityLabel {
    match severity {
        "critical" => SeverityLabel::Critical,
        "high" => SeverityLabel::High,
        "medium" => SeverityLabel::Medium,
        "low" => SeverityLabel::Low,
        _ => SeverityLabel::Informational,
    }
}

/// The ASFF types (`namespace/category/classifier`) of a finding of this kind.
pub fn types(f: &Finding) -> Vec<String> {
    let technique = &f.rule.threat.technique;
    let mitre = format!("MITRE ATT&CK {} {}", technique.id, technique.name);
    let mut types = match message::kind(f) {
        "use" => vec![format!("Effects/Data Exfiltration/{mitre}")],
        "attempt" => vec!["Unusual Behaviors/User".to_owned()],
        "protection-off" => vec![
            "Software and Configuration Checks/AWS Security Best Practices".to_owned(),
            "Effects/Data Exposure".to_owned(),
        ],
        "exposure" => vec![
            "Software and Configuration Checks/AWS Security Best Practices".to_owned(),
            "Effects/Data Exposure".to_owned(),
        ],
        _ => vec![format!("Effects/Data Exfiltration/{mitre}")],
    };
    if f.is_public() && !types.iter().any(|t| t == "Effects/Data Exposure") {
        types.push("Effects/Data Exposure".to_owned());
    }
    types
}

/// The finding's resource as ASFF has it: (type, id, details).
fn resource(f: &Finding, hub: &Hub) -> Resource {
    let region = f.cloud.region.as_deref().unwrap_or(&hub.region);
    let partition = partition_of(region);
    let account = f.cloud.account.as_ref().map_or("", |a| a.id.as_str());
    let id = f.resource.id.as_deref();
    let arn_or = |make: &dyn Fn(&str) -> String| match id {
        Some(id) if id.starts_with("arn:") => id.to_owned(),
        Some(id) => make(id),
        None => format!("{}/unknown", f.resource.kind.as_str()),
    };
    let (kind, resource_id, details) = match f.resource.kind {
        ResourceType::EbsSnapshot => (
            "Other",
            arn_or(&|id| format!("arn:{partition}:ec2:{region}::snapshot/{id}")),
            None,
        ),
        ResourceType::Image => (
            "Other",
            arn_or(&|id| format!("arn:{partition}:ec2:{region}::image/{id}")),
            None,
        ),
        ResourceType::DbSnapshot => (
            "AwsRdsDbSnapshot",
            arn_or(&|id| format!("arn:{partition}:rds:{region}:{account}:snapshot:{id}")),
            Some(
                ResourceDetails::builder()
                    .aws_rds_db_snapshot(
                        AwsRdsDbSnapshotDetails::builder()
                            .set_db_snapshot_identifier(id.map(str::to_owned))
                            .build(),
                    )
                    .build(),
            ),
        ),
        ResourceType::DbClusterSnapshot => (
            "AwsRdsDbClusterSnapshot",
            arn_or(&|id| format!("arn:{partition}:rds:{region}:{account}:cluster-snapshot:{id}")),
            Some(
                ResourceDetails::builder()
                    .aws_rds_db_cluster_snapshot(
                        AwsRdsDbClusterSnapshotDetails::builder()
                            .set_db_cluster_snapshot_identifier(id.map(str::to_owned))
                            .build(),
                    )
                    .build(),
            ),
        ),
        ResourceType::SnapshotBlockPublicAccess | ResourceType::ImageBlockPublicAccess => {
            ("AwsAccount", format!("AWS::::Account:{account}"), None)
        }
    };
    // `Other` carries what the type cannot: the id as the API names it, the owner, the target.
    let details = details.unwrap_or_else(|| {
        let mut other = HashMap::new();
        if let (Some(column), Some(id)) = (f.resource.kind.column(), id) {
            other.insert(column.to_owned(), id.to_owned());
        }
        other.insert("ownerAccount".to_owned(), account.to_owned());
        other.insert("sharedWith".to_owned(), f.user_id.clone());
        ResourceDetails::builder().set_other(Some(other)).build()
    });
    Resource::builder()
        .r#type(kind)
        .id(resource_id)
        .partition(Partition::from(partition))
        .region(region)
        .details(details)
        .build()
}

/// What ASFF has no field for, and an analyst filters on: `ProductFields`.
fn product_fields(f: &Finding) -> HashMap<String, String> {
    let ct = &f.aws.cloudtrail;
    let fields: [(&str, Option<String>); 19] = [
        ("finding_id", Some(f.finding_id.clone())),
        ("share_id", f.share_id.clone()),
        ("status", Some(f.status.as_str().to_owned())),
        ("rule_id", Some(f.rule.id.clone())),
        ("rule_name", Some(f.rule.name.clone())),
        ("finding_kind", Some(message::kind(f).to_owned())),
        ("risk_score", Some(f.rule.risk_score.to_string())),
        ("resource_type", Some(f.resource.kind.as_str().to_owned())),
        ("resource_id", f.resource.id.clone()),
        (
            "resource_account",
            f.cloud.account.as_ref().map(|a| a.id.clone()),
        ),
        ("target_account", Some(f.user_id.clone())),
        ("public", Some(f.is_public().to_string())),
        (
            "organization_member",
            f.target
                .as_ref()
                .and_then(|t| t.organization_member)
                .map(|m| m.to_string()),
        ),
        ("event_id", f.event.id.clone()),
        ("event_action", Some(f.event.action.clone())),
        ("caller_arn", ct.user_identity.arn.clone()),
        (
            "user_agent",
            f.user_agent.as_ref().map(|u| u.original.clone()),
        ),
        ("log_file", f.log.as_ref().map(|l| l.file.path.clone())),
        ("mitre_technique", Some(f.rule.threat.technique.id.clone())),
    ];
    fields
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), clip_with(&v?, PRODUCT_FIELD_MAX, "…"))))
        .collect()
}

/// The API call that made the finding, when it was one (an audit's state was not).
fn action(f: &Finding, time: &str) -> Option<Action> {
    if f.event.kind != "alert" {
        return None;
    }
    let mut call = AwsApiCallAction::builder()
        .api(f.event.action.clone())
        .service_name(f.event.provider.clone())
        .first_seen(time)
        .last_seen(time);
    match f.source.as_ref() {
        Some(source) if source.ip.is_some() => {
            call = call.caller_type("remoteip").remote_ip_details(
                ActionRemoteIpDetails::builder()
                    .set_ip_address_v4(source.ip.clone().filter(|ip| !ip.contains(':')))
                    .build(),
            );
        }
        Some(_) => call = call.caller_type("domain"),
        None => {}
    }
    Some(
        Action::builder()
            .action_type("AWS_API_CALL")
            .aws_api_call_action(call.build())
            .build(),
    )
}

/// The finding as ASFF, to import into `hub`. `now` (RFC 3339) stands in for a finding
/// without a time.
pub fn finding(f: &Finding, hub: &Hub, now: &str) -> AwsSecurityFinding {
    let time = f.timestamp.as_deref().unwrap_or(now);
    let severity = label(&f.rule.severity);
    let types = types(f);
    let owner = f.cloud.account.as_ref().map(|a| a.id.as_str());
    let account = match owner {
        Some(owner) if owner == hub.account => owner,
        _ => hub.account.as_str(),
    };
    let subject = message::subject(f);
    // The subject leads with "[low] " or "[resolved] ": Security Hub shows those itself.
    let title = subject
        .split_once("] ")
        .map_or(subject.as_str(), |(_, t)| t);
    let steps = crate::rule::of(f).map_or_else(Vec::new, |r| (r.texts.next_steps)(f));
    let resolved = f.is_resolution();
    let mut asff = AwsSecurityFinding::builder()
        .schema_version(SCHEMA_VERSION)
        .id(f.lifecycle_id())
        .product_arn(hub.product_arn())
        .product_name("snapshot-share-detector")
        .company_name("snapshot-share-detector")
        .generator_id(f.rule.id.clone())
        .aws_account_id(account)
        .set_types(Some(types.clone()))
        .created_at(time)
        .updated_at(time)
        .last_observed_at(time)
        .severity(
            Severity::builder()
                .label(severity.clone())
                .original(f.rule.severity.clone())
                .build(),
        )
        .title(clip_with(title, TITLE_MAX, "…"))
        .description(clip_with(&f.message, DESCRIPTION_MAX, "…"))
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(clip_with(&steps.join(" "), RECOMMENDATION_MAX, "…"))
                        .build(),
                )
                .build(),
        )
        .set_product_fields(Some(product_fields(f)))
        .resources(resource(f, hub))
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(
                    FindingProviderSeverity::builder()
                        .label(severity)
                        .original(f.rule.severity.clone())
                        .build(),
                )
                .set_types(Some(types))
                .build(),
        )
        .record_state(if resolved {
            RecordState::Archived
        } else {
            RecordState::Active
        })
        .workflow(
            Workflow::builder()
                .status(if resolved {
                    WorkflowStatus::Resolved
                } else {
                    WorkflowStatus::New
                })
                .build(),
        )
        .set_action(action(f, time));
    if !resolved {
        asff = asff.first_observed_at(time);
    }
    asff.build()
}

#[cfg(test)]
mod tests;
