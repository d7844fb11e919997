//! Who may receive a share without a finding: the accounts a share to which is expected
//! (`TRUSTED_ACCOUNT_IDS`: backup and disaster-recovery accounts), and the AWS services whose
//! documented flows share on a customer's behalf (`TRUSTED_SERVICES`). Every rule leaves them
//! out the same way; a public share is never trusted.

use std::collections::HashSet;

use crate::cloudtrail::Record;

/// The services trusted unless `TRUSTED_SERVICES` says otherwise, each a documented flow:
/// - GuardDuty Malware Protection for EC2 creates a snapshot of a volume to scan and shares it
///   with the GuardDuty service account, through its service-linked role
///   `AWSServiceRoleForAmazonGuardDutyMalwareProtection` (Amazon GuardDuty User Guide,
///   "Service-linked role permissions for Malware Protection for EC2");
/// - AWS Marketplace copies a seller's AMI through the ingestion role the seller created for
///   `assets.marketplace.amazonaws.com` (AWS Marketplace Seller Guide, AMI-based products), and
///   Elastic's AMI rule leaves these calls out.
pub const DEFAULT_SERVICES: [&str; 2] = [
    "malware-protection.guardduty.amazonaws.com",
    "assets.marketplace.amazonaws.com",
];

/// Accounts a share to which is expected, and services whose shares are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedAccounts {
    accounts: HashSet<String>,
    services: HashSet<String>,
}

impl Default for TrustedAccounts {
    fn default() -> Self {
        TrustedAccounts {
            accounts: HashSet::new(),
            services: DEFAULT_SERVICES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// The entries of a comma-separated list; blanks around them and empty entries are ignored.
fn entries(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl TrustedAccounts {
    /// Parses a comma-separated list of accounts; the default services stay trusted.
    pub fn parse(list: &str) -> Self {
        TrustedAccounts {
            accounts: entries(list).collect(),
            ..TrustedAccounts::default()
        }
    }

    /// The same accounts, trusting exactly these services (`TRUSTED_SERVICES`; empty: none).
    pub fn with_services(mut self, list: &str) -> Self {
        self.services = entries(list).collect();
        self
    }

    pub fn contains(&self, account: &str) -> bool {
        self.accounts.contains(account)
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Entries that do not look like AWS account ids (12 digits); they can never match.
    pub fn suspicious(&self) -> Vec<&str> {
        let mut odd: Vec<&str> = self
            .accounts
            .iter()
            .map(String::as_str)
            .filter(|s| !crate::text::is_account_id(s))
            .collect();
        odd.sort_unstable();
        odd
    }

    /// The trusted service that made the call, if one did: named by `userIdentity.invokedBy`,
    /// or by the service-linked role it acted through (only the service itself can assume one,
    /// `arn:aws:iam::ACCOUNT:role/aws-service-role/SERVICE/...`).
    pub fn service_of(&self, record: &Record<'_>) -> Option<String> {
        let service = acting_service(record)?;
        self.services.contains(service).then(|| service.to_owned())
    }
}

/// The AWS service a call was made by or through, if the record says.
pub fn acting_service<'a>(record: &Record<'a>) -> Option<&'a str> {
    let identity = &record.user_identity;
    identity.invoked_by.or_else(|| {
        let issuer = identity.session_issuer_arn?;
        let path = issuer.split_once(":role/aws-service-role/")?.1;
        path.split('/')
            .next()
            .filter(|s| s.ends_with(".amazonaws.com"))
    })
}
