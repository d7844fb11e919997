//! The wiring of the sinks from the configuration: the outputs in a list, the layers that
//! cover them all in front. Adding an output is a module of its own and one block here.
//!
//! ```text
//! Select ─► Org ─► [Remediate] ─► [Echo: stdout] ─► Dedup ─► Fanout [ SNS, Security Hub ]
//! ```
//! - [`Select`] leaves out the findings of rules switched off (`DISABLED_RULES`);
//! - [`Org`] says of each target whether it belongs to the organization, and with
//!   `SUPPRESS_ORGANIZATION_SHARES` leaves out shares inside it, before any output sees them;
//! - [`Remediate`] (`REMEDIATE`) removes the share each finding reports, as far as allowed,
//!   and says so in the finding, so that every output gets the whole story;
//! - [`Echo`] (`scan --publish`) prints every finding, duplicates included;
//! - [`Dedup`] (`DEDUP_TABLE`) sends each finding once whatever the path, to every output;
//! - the outputs each get every finding; with none configured, findings go to stdout.

use std::sync::Arc;

use aws_config::SdkConfig;

use super::sns::NotificationFormat;
use super::{Dedup, DynamoLedger, Echo, Fanout, Lines, Org, Remediate, SecurityHubSink, Select};
use super::{Sink, SnsSink, Stdout};
use crate::aws::ClientSettings;
use crate::org::Organization;

/// The outputs and layers a configuration asks for (read from the environment by `config`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// `FINDINGS_TOPIC_ARN`.
    pub topic_arn: Option<String>,
    /// `SECURITY_HUB`: also import every finding into Security Hub.
    pub security_hub: bool,
    /// `NOTIFICATION_FORMAT`.
    pub notification_format: NotificationFormat,
    /// `DEDUP_TABLE`.
    pub dedup_table: Option<String>,
    /// `ORGANIZATION_ACCOUNTS`.
    pub organization: Option<OrganizationAccounts>,
    /// `SUPPRESS_ORGANIZATION_SHARES`.
    pub suppress_organization_shares: bool,
    /// `ORGANIZATION_ID`: the organization's id (`o-...`), so that AMI shares with it or its
    /// OUs are known as one's own (`ORGANIZATION_ACCOUNTS=auto` reads it too).
    pub organization_id: Option<String>,
    /// `DISABLED_RULES`: the ids of the rules whose findings are left out.
    pub disabled_rules: Vec<String>,
    /// `REMEDIATE`, `REMEDIATE_DRY_RUN`, `REMEDIATION_ROLE_NAME`: which shares are removed
    /// before findings are published (`scan` and `audit` only with `--remediate`).
    pub remediation: crate::remediate::Settings,
}

/// Where the organization's accounts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrganizationAccounts {
    List(Vec<String>),
    /// `organizations:ListAccounts`, cached.
    Auto,
}

impl Outputs {
    /// Whether any output is configured to deliver to (a topic, Security Hub).
    pub fn delivers(&self) -> bool {
        self.topic_arn.is_some() || self.security_hub
    }

    /// Whether building these needs AWS clients (`publish`: findings go to the outputs).
    pub fn need_aws(&self, publish: bool) -> bool {
        (publish && self.delivers())
            || self.organization == Some(OrganizationAccounts::Auto)
            || self.remediation.mode != crate::remediate::Mode::Off
    }
}

/// The sink for `outputs`. `publish`: deliver to the configured outputs (the function always
/// does; `scan` with `--publish`); `echo`: also print every finding on stdout (`scan`).
/// Without an output to deliver to, findings go to stdout. Either way `lines` says how they
/// print there (JSON Lines, or text for people). Clients come from `sdk` (needed when
/// [`Outputs::need_aws`]); no network call happens here.
pub fn build(
    outputs: &Outputs,
    sdk: Option<&SdkConfig>,
    settings: &ClientSettings,
    publish: bool,
    echo: bool,
    lines: Lines,
) -> Box<dyn Sink> {
    let mut list: Vec<Box<dyn Sink>> = Vec::new();
    if let (true, Some(sdk), Some(arn)) = (publish, sdk, &outputs.topic_arn) {
        let client = crate::aws::sns_from(sdk, settings);
        let sns = SnsSink::new(client, arn.clone()).with_format(outputs.notification_format);
        list.push(Box::new(sns));
    }
    if let (true, Some(sdk), true) = (publish, sdk, outputs.security_hub) {
        list.push(Box::new(security_hub(sdk, settings)));
    }
    let delivery: Option<Box<dyn Sink>> = match list.len() {
        0 => None,
        1 => list.pop(),
        _ => Some(Box::new(Fanout(list))),
    };
    let delivery = match (delivery, sdk, &outputs.dedup_table) {
        (Some(inner), Some(sdk), Some(table)) => {
            let ledger = DynamoLedger::new(crate::aws::dynamodb_from(sdk, settings), table);
            Some(Box::new(Dedup::new(inner, ledger)) as Box<dyn Sink>)
        }
        (delivery, ..) => delivery,
    };
    let sink: Box<dyn Sink> = match (delivery, echo) {
        (Some(inner), true) => Box::new(Echo(inner, Stdout(lines))),
        (Some(inner), false) => inner,
        (None, _) => Box::new(Stdout(lines)),
    };
    let sink: Box<dyn Sink> = match (outputs.remediation.mode, sdk) {
        (crate::remediate::Mode::Off, _) | (_, None) => sink,
        (_, Some(sdk)) => {
            let remediator = crate::remediate::Remediator::new(
                sdk.clone(),
                settings.clone(),
                outputs.remediation.clone(),
            );
            Box::new(Remediate::new(sink, Arc::new(remediator)))
        }
    };
    let organization = outputs.organization.as_ref().and_then(|o| match o {
        OrganizationAccounts::List(ids) => Some(Arc::new(Organization::list(ids.iter().cloned()))),
        OrganizationAccounts::Auto => sdk.map(|sdk| {
            Arc::new(Organization::auto(
                crate::aws::organizations_from(sdk, settings),
                crate::org::REFRESH,
            ))
        }),
    });
    let org = Org::new(sink, organization, outputs.suppress_organization_shares)
        .with_id(outputs.organization_id.clone());
    Box::new(Select::new(org, outputs.disabled_rules.clone()))
}

/// The output the audit asks which of its findings are still open, so that it resolves those it
/// no longer sees: Security Hub, when findings go there (`publish` and `SECURITY_HUB`). `None`:
/// the audit resolves nothing (SNS keeps no state to ask).
pub fn recall(
    outputs: &Outputs,
    sdk: Option<&SdkConfig>,
    settings: &ClientSettings,
    publish: bool,
) -> Option<Box<dyn super::Recall>> {
    let sdk = sdk.filter(|_| publish && outputs.security_hub)?;
    Some(Box::new(security_hub(sdk, settings)))
}

fn security_hub(sdk: &SdkConfig, settings: &ClientSettings) -> SecurityHubSink {
    SecurityHubSink::new(crate::aws::securityhub_from(sdk, settings), sdk.clone())
}
