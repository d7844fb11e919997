//! Configuration from the environment, the same for the Lambda function and the CLI.

use crate::aws::ClientSettings;
use crate::reader::Limits;
use crate::rule::TrustedAccounts;
use crate::sink::sns::NotificationFormat;
pub use crate::sink::{OrganizationAccounts, Outputs};

mod variables;
use crate::source::KeyLayout;
pub use variables::VARIABLES;

/// The rule's and the reader's settings, shared by every task.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub trusted: TrustedAccounts,
    pub limits: Limits,
    /// `TRAIL_KEY_LAYOUT`: whether the key layout says which files are not CloudTrail's.
    pub key_layout: KeyLayout,
}

/// Everything the environment sets. See the table of `docs/configuration.md`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where findings go (`FINDINGS_TOPIC_ARN`; without it, stdout), and the layers in front:
    /// `NOTIFICATION_FORMAT`, `DEDUP_TABLE`, `ORGANIZATION_ACCOUNTS`,
    /// `SUPPRESS_ORGANIZATION_SHARES`. `sink::build` wires them.
    pub outputs: Outputs,
    /// `TRUSTED_ACCOUNT_IDS`, `TRUSTED_SERVICES`, `MAX_OBJECT_BYTES`, `MAX_RECORD_BYTES`.
    pub settings: Settings,
    /// `MAX_CONCURRENT_OBJECTS`: S3 objects (SQS messages) processed at once.
    pub concurrency: usize,
    /// `S3_FORCE_PATH_STYLE` (path-style S3 URLs, needed by local S3 emulators; on by default
    /// when `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_S3` is set) and the topic's region.
    pub clients: ClientSettings,
    /// `METRICS_NAMESPACE`: the CloudWatch namespace of the function's metrics.
    pub metrics_namespace: String,
    /// `AUDIT_ROLE_NAME`, `AUDIT_EXTERNAL_ID`, `AUDIT_REGIONS`: how the audit enters member
    /// accounts, and where it looks.
    pub audit: AuditConfig,
}

/// The audit's settings from the environment (`audit` and the function's audit invocations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditConfig {
    /// The role assumed in each audited account; `None`: the caller's own account only.
    pub role: Option<AuditRole>,
    /// Regions to audit; empty: every region enabled for each account.
    pub regions: Vec<String>,
    /// `AUDIT_ACCESS_ANALYZER`: take what IAM Access Analyzer covers from its findings.
    pub access_analyzer: Option<AccessAnalyzer>,
}

/// The role the audit assumes in each account (`AUDIT_ROLE_NAME`, `AUDIT_EXTERNAL_ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRole {
    pub name: String,
    pub external_id: Option<String>,
}

/// Which analyzer `--access-analyzer` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessAnalyzer {
    /// This analyzer (its region is in its ARN); other regions are read per resource.
    Arn { arn: String, region: String },
    /// In each audited region, the caller's active external-access analyzer, an organization's
    /// before an account's.
    Auto,
}

impl std::str::FromStr for AccessAnalyzer {
    type Err = String;

    fn from_str(s: &str) -> Result<AccessAnalyzer, String> {
        let s = s.trim();
        if s == "auto" {
            return Ok(AccessAnalyzer::Auto);
        }
        // arn:PARTITION:access-analyzer:REGION:ACCOUNT:analyzer/NAME
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, "access-analyzer", region, account, name]
                if !region.is_empty()
                    && crate::text::is_account_id(account)
                    && name.starts_with("analyzer/") =>
            {
                Ok(AccessAnalyzer::Arn {
                    arn: s.to_owned(),
                    region: (*region).to_owned(),
                })
            }
            _ => Err(format!(
                "{s:?} is neither `auto` nor an analyzer ARN \
                 (arn:aws:access-analyzer:REGION:ACCOUNT:analyzer/NAME)"
            )),
        }
    }
}

/// A variable with a value we cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let topic_arn = value("FINDINGS_TOPIC_ARN");
        if let Some(arn) = &topic_arn {
            if !arn.starts_with("arn:") || arn.split(':').count() != 6 {
                return Err(ConfigError {
                    name: "FINDINGS_TOPIC_ARN",
                    problem: format!(
                        "{arn:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                    ),
                });
            }
        }
        let defaults = Limits::default();
        let limits = Limits {
            max_object_bytes: match value("MAX_OBJECT_BYTES") {
                Some(v) => parse_size("MAX_OBJECT_BYTES", &v)?,
                None => defaults.max_object_bytes,
            },
            max_record_bytes: match value("MAX_RECORD_BYTES") {
                Some(v) => usize::try_from(parse_size("MAX_RECORD_BYTES", &v)?).map_err(|_| {
                    ConfigError {
                        name: "MAX_RECORD_BYTES",
                        problem: format!("{v} is too large"),
                    }
                })?,
                None => defaults.max_record_bytes,
            },
        };
        let concurrency = match value("MAX_CONCURRENT_OBJECTS") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or(ConfigError {
                    name: "MAX_CONCURRENT_OBJECTS",
                    problem: format!("{v:?} is not a positive integer"),
                })?,
            None => 4,
        };
        let s3_force_path_style = match value("S3_FORCE_PATH_STYLE") {
            Some(v) => parse_bool("S3_FORCE_PATH_STYLE", &v)?,
            None => value("AWS_ENDPOINT_URL")
                .or(value("AWS_ENDPOINT_URL_S3"))
                .is_some(),
        };
        // The region is the fourth field of the ARN, checked above to have six.
        let sns_region = topic_arn
            .as_deref()
            .and_then(|arn| arn.split(':').nth(3))
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        let notification_format = match value("NOTIFICATION_FORMAT") {
            Some(v) => NotificationFormat::parse(&v).ok_or(ConfigError {
                name: "NOTIFICATION_FORMAT",
                problem: format!("{v:?} is not json or chatbot"),
            })?,
            None => NotificationFormat::default(),
        };
        let organization = match value("ORGANIZATION_ACCOUNTS") {
            None => None,
            Some(v) if v.eq_ignore_ascii_case("auto") => Some(OrganizationAccounts::Auto),
            Some(v) => {
                let ids: Vec<String> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = ids.iter().find(|id| !crate::text::is_account_id(id)) {
                    return Err(ConfigError {
                        name: "ORGANIZATION_ACCOUNTS",
                        problem: format!(
                            "{bad:?} is not a 12-digit account id (a comma-separated list, or auto)"
                        ),
                    });
                }
                Some(OrganizationAccounts::List(ids))
            }
        };
        let suppress_organization_shares = match value("SUPPRESS_ORGANIZATION_SHARES") {
            Some(v) => parse_bool("SUPPRESS_ORGANIZATION_SHARES", &v)?,
            None => false,
        };
        if suppress_organization_shares && organization.is_none() {
            return Err(ConfigError {
                name: "SUPPRESS_ORGANIZATION_SHARES",
                problem: "needs ORGANIZATION_ACCOUNTS (a list, or auto)".to_owned(),
            });
        }
        let key_layout = match value(KeyLayout::VARIABLE) {
            Some(v) => KeyLayout::parse(&v).ok_or(ConfigError {
                name: KeyLayout::VARIABLE,
                problem: format!("{v:?} is not aws or any"),
            })?,
            None => KeyLayout::default(),
        };
        let security_hub = match value("SECURITY_HUB") {
            Some(v) => parse_bool("SECURITY_HUB", &v)?,
            None => false,
        };
        Ok(Config {
            outputs: Outputs {
                topic_arn,
                security_hub,
                notification_format,
                dedup_table: value("DEDUP_TABLE"),
                organization,
                suppress_organization_shares,
                organization_id: organization_id(value("ORGANIZATION_ID"))?,
                disabled_rules: disabled_rules(value("DISABLED_RULES"))?,
            },
            settings: Settings {
                trusted: trusted(
                    &value("TRUSTED_ACCOUNT_IDS").unwrap_or_default(),
                    get("TRUSTED_SERVICES").as_deref(),
                ),
                limits,
                key_layout,
            },
            concurrency,
            clients: ClientSettings {
                s3_force_path_style,
                sns_region,
                s3_region: value("TRAIL_BUCKET_REGION"),
                ..ClientSettings::default()
            },
            metrics_namespace: value("METRICS_NAMESPACE")
                .unwrap_or_else(|| "SnapshotShareDetector".to_owned()),
            audit: AuditConfig {
                role: match (value("AUDIT_ROLE_NAME"), value("AUDIT_EXTERNAL_ID")) {
                    (Some(name), external_id) => Some(AuditRole { name, external_id }),
                    (None, _) => None,
                },
                regions: value("AUDIT_REGIONS")
                    .map(|v| {
                        v.split(',')
                            .map(str::trim)
                            .filter(|r| !r.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                access_analyzer: match value("AUDIT_ACCESS_ANALYZER") {
                    Some(v) => Some(v.parse().map_err(|problem| ConfigError {
                        name: "AUDIT_ACCESS_ANALYZER",
                        problem,
                    })?),
                    None => None,
                },
            },
        })
    }
}

/// `TRUSTED_ACCOUNT_IDS`, and `TRUSTED_SERVICES` when it is set (set and empty: no service is
/// trusted; unset: the documented flows of `rule::trusted::DEFAULT_SERVICES`).
fn trusted(accounts: &str, services: Option<&str>) -> TrustedAccounts {
    let trusted = TrustedAccounts::parse(accounts);
    match services {
        Some(list) => trusted.with_services(list),
        None => trusted,
    }
}

/// `ORGANIZATION_ID`: `o-` and 10 to 32 lowercase letters or digits, as AWS writes it.
fn organization_id(text: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(id) = text else { return Ok(None) };
    let body = id.strip_prefix("o-").unwrap_or_default();
    let valid = (10..=32).contains(&body.len())
        && body
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    match valid {
        true => Ok(Some(id)),
        false => Err(ConfigError {
            name: "ORGANIZATION_ID",
            problem: format!("{id:?} is not an organization id (o-exampleorgid)"),
        }),
    }
}

/// `DISABLED_RULES`: rule ids or kinds (`attempt`, `protection-off`, ...), comma-separated; the
/// ids of every rule they name.
fn disabled_rules(text: Option<String>) -> Result<Vec<String>, ConfigError> {
    let mut ids = Vec::new();
    for name in text.iter().flat_map(|t| t.split(',')).map(str::trim) {
        if name.is_empty() {
            continue;
        }
        let named: Vec<&str> = crate::rule::RULES
            .iter()
            .map(|r| &r.identity)
            .filter(|i| i.id == name || i.kind.eq_ignore_ascii_case(name))
            .map(|i| i.id)
            .collect();
        if named.is_empty() {
            return Err(ConfigError {
                name: "DISABLED_RULES",
                problem: format!("{name:?} is neither a rule id nor a kind of finding"),
            });
        }
        ids.extend(named.into_iter().map(str::to_owned));
    }
    Ok(ids)
}

/// A byte count: digits with an optional unit (`k`, `M`, `G`, with or without `iB`; powers of
/// 1024).
fn parse_size(name: &'static str, text: &str) -> Result<u64, ConfigError> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = text[digits.len()..].to_ascii_lowercase();
    let shift = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => 64,
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|&n| shift < 64 && n > 0)
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or(ConfigError {
            name,
            problem: format!("{text:?} is not a size (bytes, or a number with k, M or G)"),
        })
}

fn parse_bool(name: &'static str, text: &str) -> Result<bool, ConfigError> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError {
            name,
            problem: format!("{text:?} is not true or false"),
        }),
    }
}

#[cfg(test)]
mod tests;
