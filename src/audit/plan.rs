//! Which accounts the audit reads, and how it enters each: with the caller's own credentials
//! (its own account), or by assuming the audit role (`audit-role.yaml`, deployed by a StackSet)
//! in each member account named by `--account` or listed by `--organization`.

use aws_config::SdkConfig;
use aws_sdk_sts::config::{ProvideCredentials, SharedCredentialsProvider};

use crate::aws::{describe, ClientSettings};

/// The role the audit assumes in each account.
pub use crate::config::AuditRole as Role;

/// The accounts to audit and how to enter them.
#[derive(Debug, Clone)]
pub struct Plan {
    base: SdkConfig,
    /// The caller's account: read with the caller's credentials, never through the role (a
    /// service-managed StackSet does not create the role in the management account).
    own: String,
    accounts: Vec<String>,
    role: Option<Role>,
}

impl Plan {
    /// `accounts` named, or the organization's active accounts (`organization`), each entered
    /// through `role`; with neither, the caller's own account with its own credentials.
    pub async fn new(
        base: SdkConfig,
        settings: &ClientSettings,
        accounts: Vec<String>,
        organization: bool,
        role: Option<Role>,
    ) -> Result<Plan, String> {
        let mut accounts: Vec<String> = accounts.into_iter().map(|a| a.trim().to_owned()).collect();
        accounts.retain(|a| !a.is_empty());
        if let Some(bad) = accounts.iter().find(|a| !crate::text::is_account_id(a)) {
            return Err(format!("{bad:?} is not a 12-digit account id"));
        }
        if organization {
            accounts = organization_accounts(&base, settings).await?;
        }
        let me = own_account(&base).await?;
        if accounts.is_empty() {
            return Ok(Plan {
                base,
                own: me.clone(),
                accounts: vec![me],
                role,
            });
        }
        if role.is_none() {
            if let Some(other) = accounts.iter().find(|a| **a != me) {
                return Err(format!(
                    "account {other} is not the caller's ({me}): name the role to assume in \
                     each account (--role-name, AUDIT_ROLE_NAME)"
                ));
            }
        }
        accounts.sort();
        accounts.dedup();
        Ok(Plan {
            base,
            own: me,
            accounts,
            role,
        })
    }

    /// The caller's own SDK configuration: what the central calls (Access Analyzer) use.
    pub fn base(&self) -> &SdkConfig {
        &self.base
    }

    pub fn accounts(&self) -> Vec<String> {
        self.accounts.clone()
    }

    /// The account's SDK configuration (its role's credentials, checked now so that an
    /// account that cannot be entered is named as such) and the regions to audit there:
    /// `regions`, or every region enabled for the account.
    pub async fn enter(
        &self,
        account: &str,
        settings: &ClientSettings,
        regions: &[String],
    ) -> Result<(SdkConfig, Vec<String>), String> {
        let config = match &self.role {
            None => self.base.clone(),
            Some(_) if account == self.own => self.base.clone(),
            Some(role) => {
                let arn = format!(
                    "arn:{}:iam::{account}:role/{}",
                    partition(&self.base),
                    role.name
                );
                let mut provider = aws_config::sts::AssumeRoleProvider::builder(&arn)
                    .session_name("snapshot-share-detector-audit")
                    .configure(&self.base);
                if let Some(id) = &role.external_id {
                    provider = provider.external_id(id);
                }
                let provider = provider.build().await;
                provider
                    .provide_credentials()
                    .await
                    .map_err(|e| format!("cannot assume {arn}: {}", crate::one_line(&e)))?;
                self.base
                    .to_builder()
                    .credentials_provider(SharedCredentialsProvider::new(provider))
                    .build()
            }
        };
        if !regions.is_empty() {
            return Ok((config, regions.to_vec()));
        }
        let mut ec2 = aws_sdk_ec2::config::Builder::from(&config);
        if let Some(url) = &settings.endpoint_url {
            ec2 = ec2.endpoint_url(url);
        }
        let out = aws_sdk_ec2::Client::from_conf(ec2.build())
            .describe_regions()
            .send()
            .await
            .map_err(|e| format!("DescribeRegions: {}", describe(&e)))?;
        let mut names: Vec<String> = out
            .regions()
            .iter()
            .filter_map(|r| r.region_name())
            .map(str::to_owned)
            .collect();
        names.sort();
        Ok((config, names))
    }
}

/// The partition of the configured region (`aws`, `aws-cn`, `aws-us-gov`), for role ARNs.
fn partition(config: &SdkConfig) -> &'static str {
    crate::aws::partition_of(config.region().map_or("", |r| r.as_ref()))
}

/// The caller's account (`sts:GetCallerIdentity`, which needs no permission).
async fn own_account(base: &SdkConfig) -> Result<String, String> {
    let out = aws_sdk_sts::Client::new(base)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| format!("GetCallerIdentity: {}", describe(&e)))?;
    out.account()
        .map(str::to_owned)
        .ok_or_else(|| "GetCallerIdentity named no account".to_owned())
}

/// The organization's active accounts, sorted (`organizations:ListAccounts`, from the
/// management account or a delegated administrator).
async fn organization_accounts(
    base: &SdkConfig,
    settings: &ClientSettings,
) -> Result<Vec<String>, String> {
    let client = crate::aws::organizations_from(base, settings);
    let mut pages = client.list_accounts().into_paginator().send();
    let mut ids = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListAccounts: {}", describe(&e)))?;
        ids.extend(
            page.accounts()
                .iter()
                .filter(|a| a.state().is_none_or(|s| s.as_str() == "ACTIVE"))
                .filter_map(|a| a.id().map(str::to_owned)),
        );
    }
    ids.sort();
    Ok(ids)
}
