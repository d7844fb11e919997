//! The accounts of the organization (`ORGANIZATION_ACCOUNTS`): a list given in the
//! configuration, or `auto`, read with `organizations:ListAccounts` and kept for
//! [`REFRESH`] before it is read again.
//!
//! Membership is a hint for the people reading findings, never a reason to lose one: when the
//! accounts cannot be read, membership is unknown (the last list read is used while there is
//! one), the finding says nothing about it, and nothing is suppressed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// How long a list read with `ListAccounts` is used before it is read again.
pub const REFRESH: Duration = Duration::from_secs(3600);
/// How long after a failed read the next is tried (the stale list, if any, is used meanwhile).
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

/// Where the organization's account ids come from.
#[derive(Debug)]
pub struct Organization {
    source: Source,
}

#[derive(Debug)]
enum Source {
    List(Arc<HashSet<String>>),
    Auto {
        client: aws_sdk_organizations::Client,
        refresh: Duration,
        cache: Mutex<Cache>,
    },
}

#[derive(Debug, Default)]
struct Cache {
    accounts: Option<Arc<HashSet<String>>>,
    /// The organization's id (`o-...`), from `organizations:DescribeOrganization`.
    id: Option<String>,
    /// When to read again; `None`: now.
    next: Option<Instant>,
}

impl Organization {
    /// A fixed list of account ids.
    pub fn list<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        Organization {
            source: Source::List(Arc::new(ids.into_iter().map(Into::into).collect())),
        }
    }

    /// The accounts `ListAccounts` returns (called from the management account or a delegated
    /// administrator), read again every `refresh`.
    pub fn auto(client: aws_sdk_organizations::Client, refresh: Duration) -> Self {
        Organization {
            source: Source::Auto {
                client,
                refresh,
                cache: Mutex::new(Cache::default()),
            },
        }
    }

    /// The organization's account ids, or `None` when they are not known.
    /// The organization's id (`o-...`) when `auto` could read it (`DescribeOrganization`);
    /// `None` for a configured list, which names no organization.
    pub async fn id(&self) -> Option<String> {
        match &self.source {
            Source::List(_) => None,
            Source::Auto { cache, .. } => {
                self.accounts().await;
                cache.lock().await.id.clone()
            }
        }
    }

    pub async fn accounts(&self) -> Option<Arc<HashSet<String>>> {
        let (client, refresh, cache) = match &self.source {
            Source::List(ids) => return Some(Arc::clone(ids)),
            Source::Auto {
                client,
                refresh,
                cache,
            } => (client, *refresh, cache),
        };
        // One read at a time: concurrent units wait for it rather than all calling.
        let mut cache = cache.lock().await;
        if cache.next.is_some_and(|next| Instant::now() < next) {
            return cache.accounts.clone();
        }
        if cache.id.is_none() {
            match client.describe_organization().send().await {
                Ok(out) => cache.id = out.organization().and_then(|o| o.id()).map(str::to_owned),
                Err(e) => tracing::warn!(
                    "organizations:DescribeOrganization failed: {}; whether an organization \
                     named in an AMI share is ours is unknown",
                    crate::aws::describe(&e)
                ),
            }
        }
        match list_accounts(client).await {
            Ok(ids) => {
                tracing::info!(accounts = ids.len(), "read the organization's accounts");
                cache.accounts = Some(Arc::new(ids));
                cache.next = Some(Instant::now() + refresh);
            }
            Err(e) => {
                tracing::warn!(
                    stale = cache.accounts.is_some(),
                    "organizations:ListAccounts failed: {e}; organization membership {}",
                    if cache.accounts.is_some() {
                        "comes from the last list read"
                    } else {
                        "is unknown"
                    }
                );
                cache.next = Some(Instant::now() + RETRY_AFTER_FAILURE.min(refresh));
            }
        }
        cache.accounts.clone()
    }
}

async fn list_accounts(client: &aws_sdk_organizations::Client) -> Result<HashSet<String>, String> {
    let mut ids = HashSet::new();
    let mut pages = client.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| crate::aws::describe(&e))?;
        ids.extend(
            page.accounts()
                .iter()
                .filter_map(|a| a.id().map(str::to_owned)),
        );
    }
    Ok(ids)
}

/// The organization id (`o-...`) in an organization or OU ARN
/// (`arn:aws:organizations::ACCOUNT:organization/o-ID`, `...:ou/o-ID/ou-ID`).
pub fn id_in_arn(arn: &str) -> Option<&str> {
    let path = arn.strip_prefix("arn:").and(arn.splitn(6, ':').nth(5))?;
    let (kind, rest) = path.split_once('/')?;
    if !matches!(kind, "organization" | "ou") {
        return None;
    }
    let id = rest.split('/').next()?;
    id.starts_with("o-").then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_list_is_known() {
        let org = Organization::list(["111122223333", "444455556666"]);
        let ids = org.accounts().await.unwrap();
        assert!(ids.contains("111122223333") && ids.contains("444455556666"));
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn organization_ids_are_read_from_organization_and_ou_arns() {
        let org = "arn:aws:organizations::111122223333:organization/o-exampleorgid";
        let ou = "arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-ab12-cd34ef56";
        assert_eq!(id_in_arn(org), Some("o-exampleorgid"));
        assert_eq!(id_in_arn(ou), Some("o-exampleorgid"));
        assert_eq!(id_in_arn("111122223333"), None);
        assert_eq!(id_in_arn("arn:aws:iam::111122223333:role/x"), None);
    }
}
