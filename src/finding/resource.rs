//! What a finding is about, whatever the rule: the resource (its type and id), whom it was
//! opened to ([`Target`]), and the permission change that did it ([`Change`]). A rule's
//! evaluation yields [`Detection`]s of these; [`super::Finding::build`] turns each into a
//! finding.
//!
//! On the wire the resource is the rule's own column, named as the AWS API names the id
//! (`snapshotId`, `imageId`, `dbSnapshotIdentifier`, `dbClusterSnapshotIdentifier`), so that the
//! EBS snapshot findings keep the layout of Elastic's rule byte for byte.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// The kinds of resource a rule reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ResourceType {
    #[default]
    EbsSnapshot,
    /// An AMI: its launch permission lets another account copy it, and its snapshots.
    Image,
    /// An RDS DB snapshot.
    DbSnapshot,
    /// An Aurora (or Multi-AZ) DB cluster snapshot.
    DbClusterSnapshot,
    /// An account's block public access setting for EBS snapshots, in one region.
    SnapshotBlockPublicAccess,
    /// An account's block public access setting for AMIs, in one region.
    ImageBlockPublicAccess,
}

impl ResourceType {
    /// The finding's column for the id; `None` for account settings, which have no id.
    pub fn column(self) -> Option<&'static str> {
        match self {
            ResourceType::EbsSnapshot => Some("snapshotId"),
            ResourceType::Image => Some("imageId"),
            ResourceType::DbSnapshot => Some("dbSnapshotIdentifier"),
            ResourceType::DbClusterSnapshot => Some("dbClusterSnapshotIdentifier"),
            ResourceType::SnapshotBlockPublicAccess | ResourceType::ImageBlockPublicAccess => None,
        }
    }

    /// What people call it, for texts: "EBS snapshot", "AMI", ...
    pub fn noun(self) -> &'static str {
        match self {
            ResourceType::EbsSnapshot => "EBS snapshot",
            ResourceType::Image => "AMI",
            ResourceType::DbSnapshot => "RDS snapshot",
            ResourceType::DbClusterSnapshot => "Aurora cluster snapshot",
            ResourceType::SnapshotBlockPublicAccess => "EBS snapshot block public access",
            ResourceType::ImageBlockPublicAccess => "AMI block public access",
        }
    }

    /// The label of the id among a finding's facts.
    pub fn label(self) -> &'static str {
        match self {
            ResourceType::EbsSnapshot => "Snapshot",
            ResourceType::Image => "Image",
            ResourceType::DbSnapshot => "DB snapshot",
            ResourceType::DbClusterSnapshot => "DB cluster snapshot",
            ResourceType::SnapshotBlockPublicAccess | ResourceType::ImageBlockPublicAccess => {
                "Setting"
            }
        }
    }

    /// The short name in SNS message attributes (`resource_type`) and filter policies.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::EbsSnapshot => "ebs-snapshot",
            ResourceType::Image => "ami",
            ResourceType::DbSnapshot => "rds-snapshot",
            ResourceType::DbClusterSnapshot => "rds-cluster-snapshot",
            ResourceType::SnapshotBlockPublicAccess => "ebs-snapshot-block-public-access",
            ResourceType::ImageBlockPublicAccess => "ami-block-public-access",
        }
    }

    /// The type [`ResourceType::as_str`] names.
    pub fn parse(name: &str) -> Option<Self> {
        [
            ResourceType::EbsSnapshot,
            ResourceType::Image,
            ResourceType::DbSnapshot,
            ResourceType::DbClusterSnapshot,
            ResourceType::SnapshotBlockPublicAccess,
            ResourceType::ImageBlockPublicAccess,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }

    const WITH_COLUMNS: [ResourceType; 4] = [
        ResourceType::EbsSnapshot,
        ResourceType::Image,
        ResourceType::DbSnapshot,
        ResourceType::DbClusterSnapshot,
    ];
}

/// The resource of a finding: its type, and its id when the record names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Resource {
    pub kind: ResourceType,
    pub id: Option<String>,
}

impl Resource {
    pub fn new(kind: ResourceType, id: Option<String>) -> Self {
        Resource { kind, id }
    }
}

/// Written as one column (`"snapshotId": "snap-1"`), or nothing when there is no id; meant to
/// be flattened into the finding.
impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let column = self.kind.column().zip(self.id.as_deref());
        let mut map = s.serialize_map(Some(usize::from(column.is_some())))?;
        if let Some((key, id)) = column {
            map.serialize_entry(key, id)?;
        }
        map.end()
    }
}

/// Read back from whichever column is present. A finding read from JSON without one (an
/// account setting, or a record that named no id) reads as an EBS snapshot without an id:
/// the JSON does not say more, and `rule.id` tells the rule.
impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Columns;
        impl<'de> Visitor<'de> for Columns {
            type Value = Resource;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map with a resource id column")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Resource, A::Error> {
                let mut found = Resource::default();
                while let Some(key) = map.next_key::<String>()? {
                    let kind = ResourceType::WITH_COLUMNS
                        .into_iter()
                        .find(|k| k.column() == Some(key.as_str()));
                    match kind {
                        Some(kind) => found = Resource::new(kind, map.next_value()?),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(found)
            }
        }
        d.deserialize_map(Columns)
    }
}

/// Whom a resource was opened to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Another AWS account, by id as CloudTrail recorded it.
    Account(String),
    /// Everyone (`group: all`, `all`): the resource is public.
    Public,
    /// Every account of an organization (an AMI's `organizationArn`).
    Organization(String),
    /// Every account of an organizational unit (an AMI's `organizationalUnitArn`).
    OrganizationalUnit(String),
    /// An account the record does not name.
    Unknown,
}

impl Target {
    /// The finding's `userId` column: the account id, `all`, the organization or OU ARN, or
    /// `unknown`.
    pub fn user_id(&self) -> &str {
        match self {
            Target::Account(id) | Target::Organization(id) | Target::OrganizationalUnit(id) => id,
            Target::Public => "all",
            Target::Unknown => "unknown",
        }
    }

    pub fn is_public(&self) -> bool {
        matches!(self, Target::Public)
    }

    /// The target a `userId` column names (the inverse of [`Target::user_id`]).
    pub fn of_user_id(id: &str) -> Self {
        match id {
            "all" => Target::Public,
            "unknown" => Target::Unknown,
            arn if arn.starts_with("arn:") && arn.contains(":ou/") => {
                Target::OrganizationalUnit(arn.to_owned())
            }
            arn if arn.starts_with("arn:") && arn.contains(":organization/") => {
                Target::Organization(arn.to_owned())
            }
            account => Target::Account(account.to_owned()),
        }
    }
}

/// A permission change that opened the resource (absent for events that change none, such as
/// a use of a shared snapshot): the finding's `attributeType` and `operationType` columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The attribute as the request named it (`CREATE_VOLUME_PERMISSION`, `launchPermission`,
    /// `restore`), when it did.
    pub attribute: Option<String>,
    /// `add` for a grant.
    pub operation: &'static str,
}

/// One finding's worth of what a rule saw in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub resource: Resource,
    /// The account that owns the resource, when the record (or its envelope) tells.
    pub owner: Option<String>,
    pub target: Target,
    pub change: Option<Change>,
    /// The finding's `message`: who did what to which resource, in one line.
    pub message: String,
    /// [`Status::Resolved`](super::Status) when the record ended the share instead of opening
    /// it (a removal).
    pub status: super::Status,
}
