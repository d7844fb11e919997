//! The accounts a share to which is expected (`TRUSTED_ACCOUNT_IDS`): backup and
//! disaster-recovery accounts. Every rule leaves them out the same way; a public share is never
//! trusted.

use std::collections::HashSet;

/// Accounts a share to which is expected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedAccounts(HashSet<String>);

impl TrustedAccounts {
    /// Parses a comma-separated list; blanks around ids and empty entries are ignored.
    pub fn parse(list: &str) -> Self {
        TrustedAccounts(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn contains(&self, account: &str) -> bool {
        self.0.contains(account)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Entries that do not look like AWS account ids (12 digits); they can never match.
    pub fn suspicious(&self) -> Vec<&str> {
        let mut odd: Vec<&str> = self
            .0
            .iter()
            .map(String::as_str)
            .filter(|s| !crate::text::is_account_id(s))
            .collect();
        odd.sort_unstable();
        odd
    }
}
