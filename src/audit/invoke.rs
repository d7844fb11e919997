//! The function's audit invocations, as the template's state machine sends them:
//! - `{"audit": {"plan": "organization"}}` answers `{"accounts": [...]}`, the organization's
//!   active accounts, for the state machine to map over;
//! - `{"audit": {"accounts": ["111111111111"], "regions": [...]}}` audits those accounts
//!   (`regions` optional: `AUDIT_REGIONS`, else every enabled region) and answers the
//!   [`Report`]; it fails when a part could not be read or an exposure could not be
//!   delivered, so that the state machine retries it and names the account;
//! - `{"audit": {}}` audits the function's own account.

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Options, Plan, Report, Totals};
use crate::config::Config;
use crate::sink::Sink;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default)]
    plan: Option<String>,
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    regions: Vec<String>,
}

/// What an audit invocation answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Plan { accounts: Vec<String> },
    Report(Report),
}

/// Whether a payload asks for an audit (its `audit` key).
pub fn requested(payload: &Value) -> Option<&Value> {
    payload.as_object()?.get("audit")
}

/// Runs the audit invocation `request`; an error says what failed, in one line.
pub async fn invoke(
    request: &Value,
    sdk: &SdkConfig,
    config: &Config,
    sink: &dyn Sink,
) -> Result<Answer, String> {
    let request: Request = serde_json::from_value(request.clone())
        .map_err(|e| format!("not an audit request ({e}): {request}"))?;
    let organization = match request.plan.as_deref() {
        None => false,
        Some("organization") => true,
        Some(other) => return Err(format!("unknown plan {other:?} (organization)")),
    };
    let plan = Plan::new(
        sdk.clone(),
        &config.clients,
        request.accounts,
        organization,
        config.audit.role.clone(),
    )
    .await?;
    if organization {
        return Ok(Answer::Plan {
            accounts: plan.accounts(),
        });
    }
    let regions = match request.regions.is_empty() {
        true => config.audit.regions.clone(),
        false => request.regions,
    };
    let options = Options {
        trusted: config.settings.trusted.clone(),
        regions,
        per_region: 8,
        side_by_side: 32,
        time: crate::finding::rfc3339_of_epoch(crate::epoch_ms() / 1000),
        analyzer: config.audit.access_analyzer.clone(),
    };
    let totals = Totals::default();
    let recall = crate::sink::recall(&config.outputs, Some(sdk), &config.clients, true);
    super::run(
        &plan,
        &config.clients,
        &options,
        sink,
        recall.as_deref(),
        &totals,
    )
    .await;
    let report = totals.report();
    tracing::info!(
        accounts = report.accounts,
        regions = report.regions,
        resources = report.resources,
        exposures = report.exposures,
        "audited"
    );
    if !report.unreadable.is_empty() || report.undelivered > 0 {
        let parts: Vec<String> = report
            .unreadable
            .iter()
            .map(|u| match &u.region {
                Some(r) => format!("{} {r}: {}", u.account, u.reason),
                None => format!("{}: {}", u.account, u.reason),
            })
            .collect();
        return Err(format!(
            "audit incomplete: {} exposures undelivered; unreadable: {}",
            report.undelivered,
            if parts.is_empty() {
                "none".to_owned()
            } else {
                parts.join("; ")
            }
        ));
    }
    Ok(Answer::Report(report))
}
