//! Unit tests of the configuration.

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
    for source in [include_str!("mod.rs"), include_str!("remediation.rs")] {
        let code = source.split("#[cfg(test)]").next().unwrap();
        for call in ["value(\"", "get(\""] {
            for (at, _) in code.match_indices(call) {
                let rest = &code[at + call.len()..];
                let name = &rest[..rest.find('"').unwrap()];
                assert!(listed.contains(name), "{name} is read but not in VARIABLES");
            }
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

#[test]
fn remediation_is_off_unless_asked_and_knows_whom_it_must_keep() {
    use crate::remediate::{Mode, Role};
    let off = config(&[]).unwrap().outputs.remediation;
    assert_eq!((off.mode, off.dry_run, off.role), (Mode::Off, false, None));
    let on = config(&[
        ("REMEDIATE", "untrusted"),
        ("REMEDIATE_DRY_RUN", "true"),
        ("REMEDIATION_ROLE_NAME", "fix"),
        ("REMEDIATION_EXTERNAL_ID", "secret"),
        ("TRUSTED_ACCOUNT_IDS", "333333333333"),
        ("ORGANIZATION_ACCOUNTS", "111122223333"),
    ])
    .unwrap()
    .outputs
    .remediation;
    assert_eq!(on.mode, Mode::Untrusted);
    assert!(on.dry_run && on.organization);
    assert!(on.trusted.contains("333333333333"), "the trusted are kept");
    assert_eq!(
        on.role,
        Some(Role {
            name: "fix".into(),
            external_id: Some("secret".into())
        })
    );
    let bad = config(&[("REMEDIATE", "all")]).unwrap_err();
    assert_eq!(bad.name, "REMEDIATE");
    let orphan = config(&[("REMEDIATION_EXTERNAL_ID", "x")]).unwrap_err();
    assert_eq!(orphan.name, "REMEDIATION_EXTERNAL_ID");
}
