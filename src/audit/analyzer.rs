//! IAM Access Analyzer as a source: where AWS already knows what is shared, the audit makes no
//! call per resource.
//!
//! An external-access analyzer reports the EBS snapshots and the RDS DB and cluster snapshots
//! shared outside its zone of trust (the organization, or its own account). From the
//! organization's delegated administrator, one paginated `ListFindings` per region replaces a
//! `DescribeSnapshots` walk and one `DescribeSnapshotAttribute` per snapshot in every account:
//! at EC2's 20 reads a second, ten thousand snapshots are eight minutes of reads in each
//! account-region, and the analyzer's answer is a page or two. What it does not cover (AMIs,
//! the block public access states) is still read per account.
//!
//! How it differs from reading each resource (docs/audit.md says it for users):
//! - **Zone of trust.** An organization analyzer does not report shares with the
//!   organization's own accounts; an account analyzer reports every other account. The audit's
//!   `TRUSTED_ACCOUNT_IDS` and organization awareness then apply to what it reports, as to
//!   what the audit reads.
//! - **Delay.** The analyzer learns of a change from the service's events and re-scans
//!   periodically; a share made in the last minutes may not be reported yet. Reading each
//!   resource sees the permission as it is now.
//! - **Archived findings** are read too: archiving hides a share from the analyzer's list,
//!   not from the account it is shared with.
//! - **Errors.** A finding with an `error` means the analyzer could not analyze the resource:
//!   the audit reads that resource itself.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_accessanalyzer::types::{AnalyzerStatus, Criterion, FindingSummary, Type};

use crate::aws::{describe, ClientSettings};
use crate::finding::{ResourceType, Target};

/// The kinds an external-access analyzer reports, of those the audit reads.
pub const COVERED: [ResourceType; 3] = [
    ResourceType::EbsSnapshot,
    ResourceType::DbSnapshot,
    ResourceType::DbClusterSnapshot,
];

/// The analyzer's names for [`COVERED`], as its findings' `resourceType` spells them.
const RESOURCE_TYPES: [(&str, ResourceType); 3] = [
    ("AWS::EC2::Snapshot", ResourceType::EbsSnapshot),
    ("AWS::RDS::DBSnapshot", ResourceType::DbSnapshot),
    (
        "AWS::RDS::DBClusterSnapshot",
        ResourceType::DbClusterSnapshot,
    ),
];

/// Which analyzer `--access-analyzer` (`AUDIT_ACCESS_ANALYZER`) names: the configuration's
/// type, as for the role, so that configuration and audit do not import each other.
pub use crate::config::AccessAnalyzer as Choice;

/// One resource the analyzer reports shared outside its zone of trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub kind: ResourceType,
    pub id: String,
    pub targets: Vec<Target>,
    /// The analyzer could not analyze it (its finding's `error`): read it directly.
    pub error: Option<String>,
}

/// What one region's analyzer covers, and what it reports there, by account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub analyzer: String,
    /// `None`: an organization analyzer, every account; `Some`: an account analyzer, that one.
    pub account: Option<String>,
    pub reported: BTreeMap<String, Vec<Reported>>,
}

impl Coverage {
    /// What the analyzer reports for `account`, or `None` when it does not cover the account.
    pub fn of(&self, account: &str) -> Option<&[Reported]> {
        match &self.account {
            Some(own) if own != account => None,
            _ => Some(self.reported.get(account).map_or(&[], Vec::as_slice)),
        }
    }
}

/// The active and archived findings of a region's analyzer, grouped by account and resource, in the
/// order the audit lists kinds, then by id.
pub fn coverage(analyzer: &str, account: Option<String>, findings: &[FindingSummary]) -> Coverage {
    let mut by_resource: BTreeMap<(String, usize, String), Reported> = BTreeMap::new();
    for f in findings {
        let Some((kind, id)) = resource(f) else {
            continue;
        };
        let rank = COVERED.iter().position(|k| *k == kind).unwrap_or(0);
        let key = (f.resource_owner_account().to_owned(), rank, id.clone());
        let entry = by_resource.entry(key).or_insert_with(|| Reported {
            kind,
            id,
            targets: Vec::new(),
            error: None,
        });
        if let Some(e) = f.error().filter(|e| !e.is_empty()) {
            entry.error = Some(e.to_owned());
        }
        let target = target(f);
        if !entry.targets.contains(&target) {
            entry.targets.push(target);
        }
    }
    let mut reported: BTreeMap<String, Vec<Reported>> = BTreeMap::new();
    for ((owner, _, _), r) in by_resource {
        reported.entry(owner).or_default().push(r);
    }
    Coverage {
        analyzer: analyzer.to_owned(),
        account,
        reported,
    }
}

/// The finding's resource as (kind, id): the id is the last part of its ARN
/// (`…:snapshot/snap-…`, `…:snapshot:NAME`, `…:cluster-snapshot:NAME`).
fn resource(f: &FindingSummary) -> Option<(ResourceType, String)> {
    let name = f.resource_type().as_str();
    let kind = RESOURCE_TYPES.iter().find(|(n, _)| *n == name)?.1;
    let arn = f.resource()?;
    let id = match arn.strip_prefix("arn:") {
        None => arn,
        Some(_) if kind == ResourceType::EbsSnapshot => arn.rsplit('/').next()?,
        Some(_) => arn.rsplit(':').next()?,
    };
    (!id.is_empty()).then(|| (kind, id.to_owned()))
}

/// Whom the finding says can use the resource: everyone when it is public, else the account of
/// its `AWS` principal (an account id, or an ARN in that account).
fn target(f: &FindingSummary) -> Target {
    if f.is_public() == Some(true) {
        return Target::Public;
    }
    let principal = f.principal().and_then(|p| p.get("AWS")).map(String::as_str);
    match principal {
        Some("*") => Target::Public,
        Some(p) if crate::text::is_account_id(p) => Target::Account(p.to_owned()),
        Some(p) => p
            .split(':')
            .nth(4)
            .filter(|a| crate::text::is_account_id(a))
            .map_or(Target::Unknown, |a| Target::Account(a.to_owned())),
        None => Target::Unknown,
    }
}

/// Most values a `ListFindings` criterion takes.
const CRITERION_VALUES: usize = 20;

/// Reads the analyzer of `region` for [`COVERED`]: the named one, or with [`Choice::Auto`]
/// the caller's active external-access analyzer there. `Ok(None)`: there is none, and the
/// region is read per resource; `Err`: it could not be read, and the same happens, named.
/// The findings are those of `accounts` when they are few enough to name in the request (the
/// function audits one account per invocation), else the whole organization's.
pub async fn read(
    choice: &Choice,
    base: &SdkConfig,
    settings: &ClientSettings,
    region: &str,
    accounts: &[String],
) -> Result<Option<Coverage>, String> {
    if matches!(choice, Choice::Arn { region: r, .. } if r != region) {
        return Ok(None);
    }
    let client = client(base, settings, region);
    let mut analyzers = Vec::new();
    let mut pages = client.list_analyzers().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListAnalyzers: {}", describe(&e)))?;
        analyzers.extend(page.analyzers().iter().cloned());
    }
    let external = |t: &Type| matches!(t, Type::Organization | Type::Account);
    let chosen = match choice {
        Choice::Arn { arn, .. } => {
            let a = analyzers.iter().find(|a| a.arn() == arn).ok_or_else(|| {
                format!("analyzer {arn} is not in ListAnalyzers of the caller in {region}")
            })?;
            if !external(a.r#type()) {
                return Err(format!(
                    "analyzer {arn} is of type {}, not an external-access analyzer \
                     (ORGANIZATION or ACCOUNT)",
                    a.r#type().as_str()
                ));
            }
            Some(a)
        }
        Choice::Auto => analyzers
            .iter()
            .filter(|a| external(a.r#type()) && *a.status() == AnalyzerStatus::Active)
            .min_by_key(|a| (*a.r#type() != Type::Organization, a.arn().to_owned())),
    };
    let Some(analyzer) = chosen else {
        return Ok(None);
    };
    if *analyzer.status() != AnalyzerStatus::Active {
        return Err(format!(
            "analyzer {} is {}, not ACTIVE",
            analyzer.arn(),
            analyzer.status().as_str()
        ));
    }
    let mut kinds = Criterion::builder();
    for (name, _) in RESOURCE_TYPES {
        kinds = kinds.eq(name);
    }
    let mut request = client
        .list_findings()
        .analyzer_arn(analyzer.arn())
        // Archived findings too: archiving (by hand or by an archive rule) hides a share from
        // the analyzer's list, not from the target account; whoever can share can often
        // archive. What is accepted is said in TRUSTED_ACCOUNT_IDS.
        .filter(
            "status",
            Criterion::builder().eq("ACTIVE").eq("ARCHIVED").build(),
        )
        .filter("resourceType", kinds.build());
    if (1..=CRITERION_VALUES).contains(&accounts.len()) {
        let owners = Criterion::builder().set_eq(Some(accounts.to_vec())).build();
        request = request.filter("resourceOwnerAccount", owners);
    }
    let mut findings = Vec::new();
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| format!("ListFindings of {}: {}", analyzer.arn(), describe(&e)))?;
        findings.extend(page.findings().iter().cloned());
    }
    // An account analyzer's zone of trust is the account in its ARN.
    let account = (*analyzer.r#type() == Type::Account).then(|| {
        analyzer
            .arn()
            .split(':')
            .nth(4)
            .unwrap_or_default()
            .to_owned()
    });
    Ok(Some(coverage(analyzer.arn(), account, &findings)))
}

/// The analyzer client of `region`, with the caller's own credentials (the delegated
/// administrator's, or the account's own).
fn client(
    base: &SdkConfig,
    settings: &ClientSettings,
    region: &str,
) -> aws_sdk_accessanalyzer::Client {
    let mut config = aws_sdk_accessanalyzer::config::Builder::from(base)
        .region(aws_config::Region::new(region.to_owned()));
    if let Some(url) = &settings.endpoint_url {
        config = config.endpoint_url(url);
    }
    aws_sdk_accessanalyzer::Client::from_conf(config.build())
}

#[cfg(test)]
mod tests;
