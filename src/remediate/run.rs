//! The remediation of one finding against AWS: enter the account that owns the resource, read
//! its permission, and remove the finding's target if it is still there.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::SdkConfig;

use super::{action, applies, decide, Settings};
use crate::aws::ClientSettings;
use crate::finding::{Finding, Outcome, Remediation, Target};

/// Remediates findings with the clients of the account that owns each resource: its own
/// credentials in its own account, the remediation role's elsewhere.
#[derive(Debug)]
pub struct Remediator {
    base: SdkConfig,
    clients: ClientSettings,
    settings: Settings,
    /// The function's own account, once read (`GetCallerIdentity`).
    own: tokio::sync::OnceCell<String>,
    /// The SDK configuration of each account entered through the role (its provider refreshes
    /// the credentials itself).
    entered: Mutex<HashMap<String, SdkConfig>>,
}

impl Remediator {
    pub fn new(base: SdkConfig, clients: ClientSettings, settings: Settings) -> Self {
        Remediator {
            base,
            clients,
            settings,
            own: tokio::sync::OnceCell::new(),
            entered: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// What was done about `finding`; `None` when remediation does not concern it
    /// ([`applies`]). Never fails: a failure is the outcome [`Outcome::Failed`], with its
    /// reason, so that the finding is published all the same.
    pub async fn remediate(&self, finding: &Finding) -> Option<Remediation> {
        if let Some(state) = super::restores(finding, &self.settings) {
            let (call, parameter) = crate::permission::enable_call(finding.resource.kind);
            let (outcome, reason) = self.restore(finding, state).await;
            let done = Remediation::new(format!("{call} {parameter}={state}"), outcome, reason);
            report(finding, &done);
            return Some(done);
        }
        if !applies(finding) {
            return None;
        }
        let kind = finding.resource.kind;
        let remediation = match decide(finding, &self.settings) {
            Err(why) => Remediation::new(
                action(kind, &super::target_of(finding)),
                Outcome::NotAllowed,
                why,
            ),
            Ok(target) => {
                let (outcome, reason) = self.remove(finding, &target).await;
                Remediation::new(action(kind, &target), outcome, reason)
            }
        };
        report(finding, &remediation);
        Some(remediation)
    }

    /// Reads the region's block public access state and switches it on to `state` if it
    /// blocks less.
    async fn restore(&self, finding: &Finding, state: &str) -> (Outcome, String) {
        let kind = finding.resource.kind;
        let (ec2, _) = match self.clients(finding).await {
            Ok(clients) => clients,
            Err(why) => return why,
        };
        let now = match crate::permission::block_public_access(&ec2, kind).await {
            Ok(now) => now,
            Err(e) => return (Outcome::Failed, e.to_string()),
        };
        let what = kind.noun();
        if super::at_least(&now, state) {
            return (
                Outcome::AlreadyGone,
                format!("{what} is {now} already: nothing changed"),
            );
        }
        if self.settings.dry_run {
            return (
                Outcome::DryRun,
                format!("{what} is {now}; REMEDIATE_DRY_RUN: not switched to {state}"),
            );
        }
        match crate::permission::enable_block_public_access(&ec2, kind, state).await {
            Ok(()) => (
                Outcome::Done,
                format!("{what} was {now}; switched to {state}"),
            ),
            Err(e) => (Outcome::Failed, e.to_string()),
        }
    }

    /// The EC2 and RDS clients of the finding's account and region, or the outcome that says
    /// why there are none.
    async fn clients(
        &self,
        finding: &Finding,
    ) -> Result<(aws_sdk_ec2::Client, aws_sdk_rds::Client), (Outcome, String)> {
        let account = finding.cloud.account.as_ref().map(|a| a.id.as_str());
        let (Some(account), Some(region)) = (account, finding.cloud.region.as_deref()) else {
            return Err((
                Outcome::NotAllowed,
                "the finding names no account or region to act in".to_owned(),
            ));
        };
        let config = self.enter(account).await?;
        Ok(crate::aws::ec2_rds_in(&config, &self.clients, region))
    }

    /// Reads the resource's permission and removes `target` if it is still there.
    async fn remove(&self, finding: &Finding, target: &Target) -> (Outcome, String) {
        let kind = finding.resource.kind;
        let id = finding.resource.id.as_deref().unwrap_or_default();
        let (ec2, rds) = match self.clients(finding).await {
            Ok(clients) => clients,
            Err(why) => return why,
        };
        let what = format!("{} {id}", kind.noun());
        let now = match crate::permission::targets(&ec2, &rds, kind, id).await {
            Ok(now) => now,
            Err(e) if e.gone => {
                return (
                    Outcome::AlreadyGone,
                    format!("{what} no longer exists ({e})"),
                );
            }
            Err(e) => return (Outcome::Failed, e.to_string()),
        };
        let who = target.user_id();
        if !now.contains(target) {
            return (
                Outcome::AlreadyGone,
                format!("{who} is no longer among those {what} is shared with: nothing removed"),
            );
        }
        if self.settings.dry_run {
            return (
                Outcome::DryRun,
                format!("{what} is shared with {who}; REMEDIATE_DRY_RUN: not removed"),
            );
        }
        match crate::permission::remove(&ec2, &rds, kind, id, target).await {
            Ok(()) => (
                Outcome::Done,
                format!("{what} was shared with {who}; {who} removed"),
            ),
            Err(e) if e.gone => (
                Outcome::AlreadyGone,
                format!("{what} no longer exists ({e})"),
            ),
            Err(e) => (Outcome::Failed, e.to_string()),
        }
    }

    /// The SDK configuration to act in `account` with: the base one in the function's own
    /// account, the role's in another, or the outcome that says why neither.
    async fn enter(&self, account: &str) -> Result<SdkConfig, (Outcome, String)> {
        let own = self
            .own
            .get_or_try_init(|| crate::aws::caller_account(&self.base))
            .await
            .map_err(|e| (Outcome::Failed, e))?;
        if account == own {
            return Ok(self.base.clone());
        }
        let Some(role) = &self.settings.role else {
            return Err((
                Outcome::NotAllowed,
                format!(
                    "the resource is in account {account}, not this one ({own}), and no role is \
                     named to act there (REMEDIATION_ROLE_NAME)"
                ),
            ));
        };
        if let Some(config) = self.lock().get(account) {
            return Ok(config.clone());
        }
        let config = crate::aws::assume_role(
            &self.base,
            account,
            &role.name,
            role.external_id.as_deref(),
            "snapshot-share-detector-remediation",
        )
        .await
        .map_err(|e| (Outcome::Failed, e))?;
        self.lock().insert(account.to_owned(), config.clone());
        Ok(config)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SdkConfig>> {
        self.entered.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One log line per remediation: a warning when it failed.
fn report(finding: &Finding, r: &Remediation) {
    let id = finding.resource.id.as_deref().unwrap_or_default();
    match r.outcome {
        Outcome::Failed => tracing::warn!(
            finding_id = finding.finding_id.as_str(),
            resource = id,
            action = r.action.as_str(),
            "remediation failed: {}",
            r.reason
        ),
        outcome => tracing::info!(
            finding_id = finding.finding_id.as_str(),
            resource = id,
            action = r.action.as_str(),
            outcome = outcome.as_str(),
            "remediation: {}",
            r.reason
        ),
    }
}
