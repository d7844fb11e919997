//! Configuration from the environment, the same for the Lambda function and the CLI.

use crate::aws::ClientSettings;
use crate::reader::Limits;
use crate::rule::TrustedAccounts;
use crate::sink::sns::NotificationFormat;
pub use crate::sink::{OrganizationAccounts, Outputs};
use crate::source::KeyLayout;

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
    /// `TRUSTED_ACCOUNT_IDS`, `MAX_OBJECT_BYTES`, `MAX_RECORD_BYTES`.
    pub settings: Settings,
    /// `MAX_CONCURRENT_OBJECTS`: S3 objects (SQS messages) processed at once.
    pub concurrency: usize,
    /// `S3_FORCE_PATH_STYLE` (path-style S3 URLs, needed by local S3 emulators; on by default
    /// when `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_S3` is set) and the topic's region.
    pub clients: ClientSettings,
    /// `METRICS_NAMESPACE`: the CloudWatch namespace of the function's metrics.
    pub metrics_namespace: String,
}

/// Every variable [`Config::from_lookup`] reads, with one line for people: `--help` lists
/// them, and a test keeps the list and the reads in step. The table of
/// `docs/configuration.md` says more.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "FINDINGS_TOPIC_ARN",
        "SNS topic for findings (scan: with --publish); unset: stdout",
    ),
    (
        "TRUSTED_ACCOUNT_IDS",
        "comma-separated accounts whose shares and uses are expected",
    ),
    (
        "NOTIFICATION_FORMAT",
        "SNS messages for people: json (default) or chatbot",
    ),
    (
        "DEDUP_TABLE",
        "DynamoDB table that keeps a finding from being published twice",
    ),
    (
        "ORGANIZATION_ACCOUNTS",
        "the organization's account ids, comma-separated, or auto",
    ),
    (
        "SUPPRESS_ORGANIZATION_SHARES",
        "true: do not publish shares inside the organization",
    ),
    (
        "MAX_OBJECT_BYTES",
        "most decompressed bytes read from one object or file (2GiB)",
    ),
    (
        "MAX_RECORD_BYTES",
        "largest record held in memory; larger ones are errors (8MiB)",
    ),
    (
        "MAX_CONCURRENT_OBJECTS",
        "S3 objects the Lambda function processes at once (4)",
    ),
    (
        "TRAIL_BUCKET_REGION",
        "the trail bucket's region, when it is not the SDK's",
    ),
    (
        "S3_FORCE_PATH_STYLE",
        "path-style S3 URLs (on when an AWS_ENDPOINT_URL is set)",
    ),
    (
        "AWS_ENDPOINT_URL",
        "every AWS client's endpoint, e.g. a local emulator",
    ),
    ("AWS_ENDPOINT_URL_S3", "S3's endpoint alone"),
    (
        "METRICS_NAMESPACE",
        "CloudWatch namespace of the function's metrics",
    ),
];

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
        Ok(Config {
            outputs: Outputs {
                topic_arn,
                notification_format,
                dedup_table: value("DEDUP_TABLE"),
                organization,
                suppress_organization_shares,
                organization_id: organization_id(value("ORGANIZATION_ID"))?,
                disabled_rules: disabled_rules(value("DISABLED_RULES"))?,
            },
            settings: Settings {
                trusted: TrustedAccounts::parse(&value("TRUSTED_ACCOUNT_IDS").unwrap_or_default()),
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
        })
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
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::{BTreeSet, HashMap};

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.outputs.topic_arn, None);
        assert!(c.settings.trusted.is_empty());
        assert_eq!(c.settings.limits, Limits::default());
        assert_eq!(c.concurrency, 4);
        assert!(!c.clients.s3_force_path_style);
        assert_eq!(c.clients.sns_region, None);
        assert_eq!(c.outputs.notification_format, NotificationFormat::Json);
        let chat = config(&[("NOTIFICATION_FORMAT", " Chatbot ")]).unwrap();
        assert_eq!(
            chat.outputs.notification_format,
            NotificationFormat::Chatbot
        );
        assert_eq!(c.outputs.dedup_table, None);
        assert_eq!(c.outputs.organization, None);
        assert!(!c.outputs.suppress_organization_shares);
        assert_eq!(c.settings.key_layout, KeyLayout::Aws);
        let any = config(&[("TRAIL_KEY_LAYOUT", "any")]).unwrap();
        assert_eq!(any.settings.key_layout, KeyLayout::Any);
    }

    #[test]
    fn deduplication_and_organization() {
        let c = config(&[
            ("DEDUP_TABLE", "stack-DedupTable-ABC"),
            ("ORGANIZATION_ACCOUNTS", " 111122223333, 444455556666 "),
            ("SUPPRESS_ORGANIZATION_SHARES", "true"),
        ])
        .unwrap();
        assert_eq!(
            c.outputs.dedup_table.as_deref(),
            Some("stack-DedupTable-ABC")
        );
        assert_eq!(
            c.outputs.organization,
            Some(OrganizationAccounts::List(vec![
                "111122223333".to_owned(),
                "444455556666".to_owned()
            ]))
        );
        assert!(c.outputs.suppress_organization_shares);
        let auto = config(&[("ORGANIZATION_ACCOUNTS", "AUTO")]).unwrap();
        assert_eq!(auto.outputs.organization, Some(OrganizationAccounts::Auto));
        let c = config(&[
            ("ORGANIZATION_ID", "o-exampleorgid"),
            ("DISABLED_RULES", "attempt, protection-off"),
        ])
        .unwrap();
        assert_eq!(c.outputs.organization_id.as_deref(), Some("o-exampleorgid"));
        assert_eq!(
            c.outputs.disabled_rules,
            [
                crate::rule::attempt::IDENTITY.id,
                crate::rule::protection::IDENTITY.id
            ]
        );
        let alone = config(&[("SUPPRESS_ORGANIZATION_SHARES", "true")]).unwrap_err();
        assert_eq!(alone.name, "SUPPRESS_ORGANIZATION_SHARES");
    }

    #[test]
    fn values_are_read_and_checked() {
        let c = config(&[
            (
                "FINDINGS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:111122223333:findings",
            ),
            ("TRUSTED_ACCOUNT_IDS", " 111122223333 ,444455556666,, "),
            ("MAX_OBJECT_BYTES", "512MiB"),
            ("MAX_RECORD_BYTES", "1048576"),
            ("MAX_CONCURRENT_OBJECTS", "2"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("TRAIL_BUCKET_REGION", "eu-west-1"),
        ])
        .unwrap();
        assert_eq!(
            c.outputs.topic_arn.as_deref(),
            Some("arn:aws:sns:us-east-1:111122223333:findings")
        );
        assert!(c.settings.trusted.contains("111122223333"));
        assert!(c.settings.trusted.contains("444455556666"));
        assert_eq!(c.settings.trusted.len(), 2);
        assert_eq!(c.settings.limits.max_object_bytes, 512 << 20);
        assert_eq!(c.settings.limits.max_record_bytes, 1 << 20);
        assert_eq!(c.concurrency, 2);
        assert!(c.clients.s3_force_path_style);
        // The SNS client signs for the topic's region, whatever the function's is.
        assert_eq!(c.clients.sns_region.as_deref(), Some("us-east-1"));
        assert_eq!(c.clients.s3_region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("FINDINGS_TOPIC_ARN", "my-topic"),
            ("MAX_OBJECT_BYTES", "lots"),
            ("MAX_OBJECT_BYTES", "0"),
            ("MAX_RECORD_BYTES", "12XB"),
            ("MAX_CONCURRENT_OBJECTS", "0"),
            ("S3_FORCE_PATH_STYLE", "maybe"),
            ("NOTIFICATION_FORMAT", "slack"),
            ("ORGANIZATION_ACCOUNTS", "1111"),
            ("SUPPRESS_ORGANIZATION_SHARES", "perhaps"),
            ("ORGANIZATION_ID", "org-1"),
            ("DISABLED_RULES", "nonsense"),
            ("TRAIL_KEY_LAYOUT", "custom"),
        ] {
            let err = config(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name);
            assert!(err.to_string().contains(value), "{err}");
        }
    }

    /// `--help` lists [`VARIABLES`]: every name the configuration reads must be there, and
    /// nothing else. Read by running it (with no variable set, every one is looked up) and
    /// from this file's text (a read behind a condition).
    #[test]
    fn every_variable_read_is_listed() {
        let listed: BTreeSet<&str> = VARIABLES.iter().map(|(name, _)| *name).collect();
        assert_eq!(listed.len(), VARIABLES.len(), "a variable listed twice");
        let asked = RefCell::new(BTreeSet::new());
        Config::from_lookup(|name| {
            asked.borrow_mut().insert(name.to_owned());
            None
        })
        .unwrap();
        let asked: BTreeSet<String> = asked.into_inner();
        assert_eq!(
            asked.iter().map(String::as_str).collect::<BTreeSet<_>>(),
            listed
        );
        let source = include_str!("config.rs");
        let code = source.split("#[cfg(test)]").next().unwrap();
        for call in ["value(\"", "get(\""] {
            for (at, _) in code.match_indices(call) {
                let rest = &code[at + call.len()..];
                let name = &rest[..rest.find('"').unwrap()];
                assert!(listed.contains(name), "{name} is read but not in VARIABLES");
            }
        }
        for (name, help) in VARIABLES {
            assert!(
                !help.is_empty() && help.len() <= 64,
                "{name}: one short line"
            );
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("X", "10").unwrap(), 10);
        assert_eq!(parse_size("X", "2G").unwrap(), 2 << 30);
        assert_eq!(parse_size("X", "64k").unwrap(), 64 << 10);
        assert_eq!(parse_size("X", "3MB").unwrap(), 3 << 20);
        assert!(parse_size("X", "99999999999999G").is_err());
    }
}
