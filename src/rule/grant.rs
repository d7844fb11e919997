//! What every share call has in common: a resource opened to grantees. The four calls that
//! share data out of an account (an EBS snapshot's create-volume permission, an AMI's launch
//! permission, an RDS or Aurora snapshot's `restore` attribute) name their resource and their
//! grantees each in their own way; [`requested`] reads any of them into one [`Grant`], so that
//! the share rules (which look at successful calls) and the attempt rule (failed ones) decide
//! alike what was asked for, and whom it would have opened the resource to.

use std::collections::HashSet;

use serde_json::Value;

use super::{json_field, Call, Context, TrustedAccounts};
use crate::cloudtrail::Record;
use crate::finding::{clip, Change, Detection, Resource, ResourceType, Status, Target};

const EC2: &str = "ec2.amazonaws.com";
const RDS: &str = "rds.amazonaws.com";

pub const SNAPSHOT_CALL: Call = Call {
    source: EC2,
    name: "ModifySnapshotAttribute",
};
pub const IMAGE_CALL: Call = Call {
    source: EC2,
    name: "ModifyImageAttribute",
};
pub const DB_SNAPSHOT_CALL: Call = Call {
    source: RDS,
    name: "ModifyDBSnapshotAttribute",
};
pub const DB_CLUSTER_SNAPSHOT_CALL: Call = Call {
    source: RDS,
    name: "ModifyDBClusterSnapshotAttribute",
};

/// Every call that can share a resource out of the account.
pub const CALLS: [Call; 4] = [
    SNAPSHOT_CALL,
    IMAGE_CALL,
    DB_SNAPSHOT_CALL,
    DB_CLUSTER_SNAPSHOT_CALL,
];

/// What a share call asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub resource: Resource,
    /// The account that owns the resource, when the record (or its envelope) tells.
    pub owner: Option<String>,
    /// The attribute as the request named it, when it did.
    pub attribute: Option<String>,
    /// Distinct grantees that are neither the owner nor trusted, in the order of the request.
    pub targets: Vec<Target>,
}

/// Which side of a permission change to read: what it adds, or what it removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Add,
    Remove,
}

/// The grant a record of one of [`CALLS`] asks for, whether or not it succeeded: `None` when it
/// is no such call, changes another attribute, or adds no foreign grantee. An error names
/// parameters that cannot be read.
pub fn requested(
    record: &Record<'_>,
    envelope_account: Option<&str>,
    trusted: &TrustedAccounts,
) -> Result<Option<Grant>, String> {
    change(record, envelope_account, trusted, Side::Add)
}

/// What a record of one of [`CALLS`] adds or removes (`side`), as [`requested`] says: the
/// foreign grantees, neither the owner nor trusted (a removal of those closes no finding,
/// since none was opened).
pub fn change(
    record: &Record<'_>,
    envelope_account: Option<&str>,
    trusted: &TrustedAccounts,
    side: Side,
) -> Result<Option<Grant>, String> {
    // A documented flow of a trusted AWS service (GuardDuty's scan snapshots, Marketplace's
    // AMI ingestion): no finding, as for a trusted account.
    if trusted.service_of(record).is_some() {
        return Ok(None);
    }
    let Some(call) = CALLS
        .iter()
        .find(|c| record.event_source == Some(c.source) && record.event_name == Some(c.name))
    else {
        return Ok(None);
    };
    let Some(params) = json_field(record.raw, "requestParameters")? else {
        return Ok(None);
    };
    let (kind, id_key, attribute_key, wanted, grantees) = match call.name {
        "ModifySnapshotAttribute" => (
            ResourceType::EbsSnapshot,
            "snapshotId",
            "attributeType",
            "createvolumepermission",
            permission_items(&params, "createVolumePermission", side),
        ),
        "ModifyImageAttribute" => (
            ResourceType::Image,
            "imageId",
            "attributeType",
            "launchpermission",
            permission_items(&params, "launchPermission", side),
        ),
        "ModifyDBSnapshotAttribute" => (
            ResourceType::DbSnapshot,
            "dBSnapshotIdentifier",
            "attributeName",
            "restore",
            values(&params, side),
        ),
        _ => (
            ResourceType::DbClusterSnapshot,
            "dBClusterSnapshotIdentifier",
            "attributeName",
            "restore",
            values(&params, side),
        ),
    };
    let attribute = params.get(attribute_key).and_then(Value::as_str);
    // EC2 lets the caller leave the attribute out when it gives the permission list; RDS
    // requires it, and only `restore` shares.
    match attribute {
        Some(name) if !same_name(name, wanted) => return Ok(None),
        None if matches!(
            kind,
            ResourceType::DbSnapshot | ResourceType::DbClusterSnapshot
        ) =>
        {
            return Ok(None)
        }
        _ => {}
    }
    let owner = record.owner(envelope_account);
    let targets = foreign(grantees, owner, trusted);
    if targets.is_empty() {
        return Ok(None);
    }
    Ok(Some(Grant {
        // As the request wrote it: the id is the caller's to spell.
        resource: Resource::new(
            kind,
            params
                .get(id_key)
                .and_then(Value::as_str)
                .map(str::to_owned),
        ),
        owner: owner.map(str::to_owned),
        attribute: attribute.map(str::to_owned),
        targets,
    }))
}

/// The share rules' evaluation: one detection per foreign target of a successful share call,
/// and one resolution per foreign target it removes.
pub fn shares(record: &Record<'_>, cx: &Context<'_>) -> Result<Vec<Detection>, String> {
    if record.failed() {
        return Ok(Vec::new());
    }
    let mut found = match requested(record, cx.envelope_account, cx.trusted)? {
        Some(g) => detections(record, &g, &shared),
        None => Vec::new(),
    };
    if let Some(g) = change(record, cx.envelope_account, cx.trusted, Side::Remove)? {
        found.extend(describe(record, &g, &unshared, "remove", Status::Resolved));
    }
    Ok(found)
}

/// One detection per target of `grant`, its message saying `what` happened to the resource
/// ([`shared`] for a grant that took effect).
pub fn detections(
    record: &Record<'_>,
    grant: &Grant,
    what: &dyn Fn(&Target) -> String,
) -> Vec<Detection> {
    describe(record, grant, what, "add", Status::Open)
}

fn describe(
    record: &Record<'_>,
    grant: &Grant,
    what: &dyn Fn(&Target) -> String,
    operation: &'static str,
    status: Status,
) -> Vec<Detection> {
    let actor = record.user_identity.arn.map(clip);
    let id = grant.resource.id.as_deref().map(clip);
    let owner = grant.owner.as_deref().map(clip);
    grant
        .targets
        .iter()
        .map(|target| Detection {
            resource: grant.resource.clone(),
            owner: grant.owner.clone(),
            target: target.clone(),
            change: Some(Change {
                attribute: grant.attribute.clone(),
                operation,
            }),
            message: format!(
                "{} {} of account {} {} by {}",
                grant.resource.kind.noun(),
                id.as_deref().unwrap_or("(unknown id)"),
                owner.as_deref().unwrap_or("(unknown)"),
                what(target),
                actor.as_deref().unwrap_or("an unknown principal"),
            ),
            status,
        })
        .collect()
}

/// "was made public", "was shared with account X", ...: what a successful grant did.
pub fn shared(target: &Target) -> String {
    format!("was {}", opened_to(target))
}

/// "had its public share removed", "had its share with account X removed": what a successful
/// removal did.
pub fn unshared(target: &Target) -> String {
    match target {
        Target::Public => "had its public share removed".to_owned(),
        other => format!("had its share with {} removed", grantee(other)),
    }
}

/// "made public", "shared with account X", "shared with organization ARN", ...
pub fn opened_to(target: &Target) -> String {
    match target {
        Target::Public => "made public".to_owned(),
        other => format!("shared with {}", grantee(other)),
    }
}

/// "account X", "organization ARN", "organizational unit ARN", "an unknown account".
fn grantee(target: &Target) -> String {
    match target {
        Target::Public => "everyone".to_owned(),
        Target::Account(id) => format!("account {}", clip(id)),
        Target::Organization(arn) => format!("organization {}", clip(arn)),
        Target::OrganizationalUnit(arn) => format!("organizational unit {}", clip(arn)),
        Target::Unknown => "an unknown account".to_owned(),
    }
}

/// A grantee as the request names it.
enum Grantee<'a> {
    Account(&'a str),
    Everyone,
    Organization(&'a str),
    OrganizationalUnit(&'a str),
}

/// The grantees under `<permission>.add.items` (or `.remove.items`; EC2: a single object counts
/// as one item).
fn permission_items<'a>(params: &'a Value, permission: &str, side: Side) -> Vec<Grantee<'a>> {
    let key = match side {
        Side::Add => "add",
        Side::Remove => "remove",
    };
    let items = params
        .get(permission)
        .and_then(|p| p.get(key))
        .and_then(|a| a.get("items"));
    let items: Vec<&Value> = match items {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for item in items {
        let field = |key| item.get(key).and_then(Value::as_str).map(str::trim);
        if field("group").is_some_and(|g| g.eq_ignore_ascii_case("all")) {
            out.push(Grantee::Everyone);
        }
        if let Some(user) = field("userId") {
            out.push(Grantee::Account(user));
        }
        if let Some(arn) = field("organizationArn") {
            out.push(Grantee::Organization(arn));
        }
        if let Some(arn) = field("organizationalUnitArn") {
            out.push(Grantee::OrganizationalUnit(arn));
        }
    }
    out
}

/// The grantees an RDS `restore` attribute adds (`valuesToAdd`) or removes
/// (`valuesToRemove`): account ids, or `all` for everyone.
fn values(params: &Value, side: Side) -> Vec<Grantee<'_>> {
    let key = match side {
        Side::Add => "valuesToAdd",
        Side::Remove => "valuesToRemove",
    };
    let values = params.get(key).and_then(Value::as_array);
    values
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .map(|v| match v.eq_ignore_ascii_case("all") {
            true => Grantee::Everyone,
            false => Grantee::Account(v),
        })
        .collect()
}

/// Distinct targets of `grantees` that are neither the owner nor trusted, in order.
fn foreign(
    grantees: Vec<Grantee<'_>>,
    owner: Option<&str>,
    trusted: &TrustedAccounts,
) -> Vec<Target> {
    let mut seen = HashSet::new();
    let mut targets = Vec::new();
    for grantee in grantees {
        let target = match grantee {
            Grantee::Everyone => Target::Public,
            Grantee::Account(id) if id.is_empty() || Some(id) == owner || trusted.contains(id) => {
                continue
            }
            Grantee::Account(id) => Target::Account(id.to_owned()),
            Grantee::Organization(arn) if !arn.is_empty() => Target::Organization(arn.to_owned()),
            Grantee::OrganizationalUnit(arn) if !arn.is_empty() => {
                Target::OrganizationalUnit(arn.to_owned())
            }
            _ => continue,
        };
        if seen.insert(target.clone()) {
            targets.push(target);
        }
    }
    targets
}

/// `name` equals `wanted` (lowercase, no underscores) in any case, with or without
/// underscores: `CREATE_VOLUME_PERMISSION`, `createVolumePermission`.
fn same_name(name: &str, wanted: &str) -> bool {
    name.bytes()
        .filter(|&b| b != b'_')
        .map(|b| b.to_ascii_lowercase())
        .eq(wanted.bytes())
}
