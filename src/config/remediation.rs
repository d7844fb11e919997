//! The remediation settings from the environment (`REMEDIATE` and the variables beside it).

use super::{parse_bool, ConfigError};
use crate::rule::TrustedAccounts;

/// `REMEDIATE`, `REMEDIATE_DRY_RUN`, `REMEDIATION_ROLE_NAME`, `REMEDIATION_EXTERNAL_ID`,
/// `REMEDIATE_BLOCK_PUBLIC_ACCESS`.
pub(super) fn remediation(
    value: &impl Fn(&str) -> Option<String>,
    trusted: TrustedAccounts,
    organization: bool,
) -> Result<crate::remediate::Settings, ConfigError> {
    let mode = match value("REMEDIATE") {
        Some(v) => crate::remediate::Mode::parse(&v).ok_or(ConfigError {
            name: "REMEDIATE",
            problem: format!("{v:?} is not off, public or untrusted"),
        })?,
        None => crate::remediate::Mode::Off,
    };
    let dry_run = match value("REMEDIATE_DRY_RUN") {
        Some(v) => parse_bool("REMEDIATE_DRY_RUN", &v)?,
        None => false,
    };
    let role = match (
        value("REMEDIATION_ROLE_NAME"),
        value("REMEDIATION_EXTERNAL_ID"),
    ) {
        (Some(name), external_id) => Some(crate::remediate::Role { name, external_id }),
        (None, Some(_)) => {
            return Err(ConfigError {
                name: "REMEDIATION_EXTERNAL_ID",
                problem: "needs REMEDIATION_ROLE_NAME".to_owned(),
            })
        }
        (None, None) => None,
    };
    let block_public_access = match value("REMEDIATE_BLOCK_PUBLIC_ACCESS") {
        Some(v) if crate::remediate::BLOCK_PUBLIC_ACCESS_STATES.contains(&v.as_str()) => Some(v),
        Some(v) => {
            return Err(ConfigError {
                name: "REMEDIATE_BLOCK_PUBLIC_ACCESS",
                problem: format!("{v:?} is not block-all-sharing or block-new-sharing"),
            })
        }
        None => None,
    };
    Ok(crate::remediate::Settings {
        mode,
        dry_run,
        role,
        trusted,
        organization,
        block_public_access,
    })
}
