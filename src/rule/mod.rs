//! The detection rules: a pure function from one CloudTrail record to its findings ([`detect`]),
//! and its fast path over raw bytes ([`Prefilter`]). Two rules, one entry point:
//! - the share (below): a snapshot was shared with another account or made public;
//! - the use ([`used`]): another account copied a shared snapshot or created a volume from it,
//!   which EC2 records as a service event in the owner's account.
//!
//! The share rule follows Elastic's "AWS EC2 EBS Snapshot Shared with Another Account" (a
//! successful `ec2.amazonaws.com` `ModifySnapshotAttribute` call that adds create-volume
//! permission for an account other than the owner's) and goes further where that rule is blind:
//! - it reads `requestParameters` as JSON (also when an exporter turned it into a string), not
//!   with a pattern over its text, so key order and formatting do not matter;
//! - it reports every target of a call, not only the first, and public shares (`group: all`);
//! - items under `remove` never count, also when the same call adds and removes;
//! - `attributeType` compares without regard to case or underscores (`CREATE_VOLUME_PERMISSION`,
//!   `createVolumePermission`), and a call that omits it but adds create-volume permission
//!   still counts: the EC2 API lets the caller leave the attribute out, and the permission list
//!   is what shares the data.

use std::collections::HashSet;

use serde_json::Value;

use crate::cloudtrail::Record;
use crate::finding::Finding;
pub use crate::finding::{Share, Target};

mod prefilter;
pub mod used;
pub use prefilter::Prefilter;
pub use used::{Use, UseKind};

pub const EVENT_SOURCE: &str = "ec2.amazonaws.com";
pub const EVENT_NAME: &str = "ModifySnapshotAttribute";

/// Accounts a share to which is expected (`TRUSTED_ACCOUNT_IDS`). Public shares are never
/// trusted.
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
            .filter(|s| s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        odd.sort_unstable();
        odd
    }
}

/// The detection: the findings of one record, one per foreign target of a share, or one for a
/// use of a shared snapshot. `envelope_account` is the `account` of the EventBridge event that
/// carried it, if any; `origin` names the log file it was read from (`log.file.path`). Every
/// path (EventBridge, log files, `scan`, the tests and benches) goes through here.
pub fn detect(
    record: &Record<'_>,
    envelope_account: Option<&str>,
    trusted: &TrustedAccounts,
    origin: Option<&str>,
) -> Vec<Finding> {
    if let Some(share) = evaluate(record, envelope_account, trusted) {
        return share
            .targets
            .iter()
            .map(|target| Finding::new(record, &share, target, origin))
            .collect();
    }
    // The two rules match different event names: a record is at most one of them.
    match used::evaluate(record, envelope_account, trusted) {
        Some(found) => vec![Finding::used(record, &found, origin)],
        None => Vec::new(),
    }
}

/// Evaluates one record. `envelope_account` is the `account` of the EventBridge event that
/// carried it, if any (the owner of last resort). Returns `None` unless the record shares a
/// snapshot with at least one untrusted foreign account or with everyone.
pub fn evaluate(
    record: &Record<'_>,
    envelope_account: Option<&str>,
    trusted: &TrustedAccounts,
) -> Option<Share> {
    if record.event_source != Some(EVENT_SOURCE) || record.event_name != Some(EVENT_NAME) {
        return None;
    }
    if record.failed() {
        return None;
    }
    let params = record.request_parameters?;
    // Some exporters store requestParameters as a JSON string.
    let parsed;
    let params = match params {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).ok()?;
            &parsed
        }
        other => other,
    };
    let attribute_type = params.get("attributeType").and_then(Value::as_str);
    if let Some(kind) = attribute_type {
        if !is_create_volume_permission(kind) {
            return None;
        }
    }
    let owner = record.owner(envelope_account);
    let mut seen = HashSet::new();
    let mut targets = Vec::new();
    for item in added_items(params) {
        if let Some(group) = item.get("group").and_then(Value::as_str) {
            if group.trim().eq_ignore_ascii_case("all") && seen.insert(Target::Public) {
                targets.push(Target::Public);
            }
        }
        if let Some(user) = item.get("userId").and_then(Value::as_str) {
            let user = user.trim();
            if user.is_empty() || Some(user) == owner || trusted.contains(user) {
                continue;
            }
            let target = Target::Account(user.to_owned());
            if seen.insert(target.clone()) {
                targets.push(target);
            }
        }
    }
    if targets.is_empty() {
        return None;
    }
    Some(Share {
        owner: owner.map(str::to_owned),
        snapshot_id: params
            .get("snapshotId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        attribute_type: attribute_type.map(str::to_owned),
        targets,
    })
}

/// `CREATE_VOLUME_PERMISSION` in any case, with or without underscores.
fn is_create_volume_permission(kind: &str) -> bool {
    let letters = kind.bytes().filter(|&b| b != b'_');
    letters
        .map(|b| b.to_ascii_lowercase())
        .eq("createvolumepermission".bytes())
}

/// The items of `createVolumePermission.add.items` (a single object counts as one item).
fn added_items(params: &Value) -> impl Iterator<Item = &Value> {
    let items = params
        .get("createVolumePermission")
        .and_then(|p| p.get("add"))
        .and_then(|a| a.get("items"));
    let (many, one) = match items {
        Some(Value::Array(list)) => (Some(list.iter()), None),
        Some(item @ Value::Object(_)) => (None, Some(item)),
        _ => (None, None),
    };
    many.into_iter().flatten().chain(one)
}
