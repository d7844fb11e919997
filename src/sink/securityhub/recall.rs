//! Security Hub as the audit's memory: the audit's findings still `ACTIVE` in one account and
//! region, read with `GetFindings`.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, MapFilter, MapFilterComparison, StringFilter,
    StringFilterComparison,
};

use super::SecurityHubSink;
use crate::aws::describe;
use crate::finding::{Resource, ResourceType, Target};
use crate::sink::recall::{Opened, Recall, Recalling};

fn equals(value: &str) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(StringFilterComparison::Equals)
        .build()
}

fn field_equals(key: &str, value: &str) -> MapFilter {
    MapFilter::builder()
        .key(key)
        .value(value)
        .comparison(MapFilterComparison::Equals)
        .build()
}

impl SecurityHubSink {
    async fn open_findings(
        &self,
        rule_id: &str,
        account: &str,
        region: &str,
    ) -> Result<Vec<Opened>, String> {
        let hub = self.hub().await?;
        let filters = AwsSecurityFindingFilters::builder()
            .product_arn(equals(&hub.product_arn()))
            .generator_id(equals(rule_id))
            .record_state(equals("ACTIVE"))
            .resource_region(equals(region))
            .product_fields(field_equals("resource_account", account))
            .build();
        let found: Vec<AwsSecurityFinding> = self
            .client
            .get_findings()
            .filters(filters)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| format!("GetFindings: {}", describe(&e)))?;
        // The filters say the same; a finding that does not match them is not resolved on
        // their word alone.
        Ok(found
            .iter()
            .filter(|f| {
                f.generator_id() == Some(rule_id)
                    && f.record_state().map(|s| s.as_str()) == Some("ACTIVE")
                    && f.resources().iter().any(|r| r.region() == Some(region))
            })
            .filter_map(|f| opened(f, account))
            .collect())
    }
}

/// The exposure a finding of ours reports, from its `ProductFields`; `None` for one that is not
/// of `account` or does not say what it is about.
fn opened(f: &AwsSecurityFinding, account: &str) -> Option<Opened> {
    let fields = f.product_fields()?;
    if fields.get("resource_account").map(String::as_str) != Some(account) {
        return None;
    }
    let kind = ResourceType::parse(fields.get("resource_type")?)?;
    Some(Opened {
        id: f.id()?.to_owned(),
        resource: Resource::new(kind, fields.get("resource_id").cloned()),
        target: Target::of_user_id(fields.get("target_account")?),
    })
}

impl Recall for SecurityHubSink {
    fn open<'a>(&'a self, rule_id: &'a str, account: &'a str, region: &'a str) -> Recalling<'a> {
        Box::pin(self.open_findings(rule_id, account, region))
    }
}
