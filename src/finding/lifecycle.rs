//! A finding's life: open when a rule sees a share (or a switched-off guard), resolved when
//! what it reports ends (the permission removed, the guard switched back on, the audit no
//! longer seeing the exposure).
//!
//! A removal names the resource and the target, never the call that opened them, so the
//! finding it closes cannot be found by its id (the id of the opening event). Both carry a
//! [`share_id`] instead: the same for every finding about one share (one resource, one
//! target), whatever event or audit reported it. Security Hub keys its finding on it, so that
//! a resolution updates the finding it closes; SNS subscribers and OCSF consumers correlate on
//! it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Finding, Identity, Resource, Target};

/// Whether what a finding reports is still the case, as far as the detector knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A share, or a switched-off guard, that nothing has ended yet (and every finding that
    /// reports an event of the past: a use, a failed attempt).
    #[default]
    Open,
    /// The share ended: a removal, the guard switched back on, or the audit no longer seeing
    /// it.
    Resolved,
}

impl Status {
    pub fn is_open(&self) -> bool {
        *self == Status::Open
    }

    /// `open` or `resolved`: the SNS message attribute `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Resolved => "resolved",
        }
    }
}

/// Where a share is: the account that owns the resource and its region, as far as known.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub account: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// UUIDv5, under the rule's namespace, of (account, region, resource, target): the id of a
/// share for `rule`, the same for the event that opened it, the event that closes it and
/// (for the audit's rule) every audit that sees it. An unknown account or region counts as
/// empty, alike on both sides.
pub fn share_id(rule: &Identity, place: Place<'_>, resource: &Resource, target: &Target) -> String {
    let namespace = Uuid::try_parse(rule.id).unwrap_or(Uuid::NAMESPACE_OID);
    let name = format!(
        "exposure:{}:{}:{}:{}\n{}",
        place.account.unwrap_or(""),
        place.region.unwrap_or(""),
        resource.kind.as_str(),
        resource.id.as_deref().unwrap_or(""),
        target.user_id()
    );
    Uuid::new_v5(&namespace, name.as_bytes()).to_string()
}

impl Finding {
    /// Whether this finding closes a share rather than reports one.
    pub fn is_resolution(&self) -> bool {
        self.status == Status::Resolved
    }

    /// The id Security Hub and OCSF know the finding by: its share's id when it has one (a
    /// resolution updates the finding it closes), its own id otherwise.
    pub fn lifecycle_id(&self) -> &str {
        self.share_id.as_deref().unwrap_or(&self.finding_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::ResourceType;

    #[test]
    fn a_share_id_depends_on_the_share_alone() {
        let rule = &crate::rule::share::IDENTITY;
        let here = Place {
            account: Some("111111111111"),
            region: Some("eu-west-1"),
        };
        let snap = Resource::new(ResourceType::EbsSnapshot, Some("snap-1".into()));
        let to = Target::Account("222222222222".into());
        let id = share_id(rule, here, &snap, &to);
        assert_eq!(id, share_id(rule, here, &snap, &to));
        let elsewhere = Place {
            region: Some("eu-west-2"),
            ..here
        };
        assert_ne!(id, share_id(rule, elsewhere, &snap, &to));
        assert_ne!(id, share_id(rule, here, &snap, &Target::Public));
        let other = Resource::new(ResourceType::EbsSnapshot, Some("snap-2".into()));
        assert_ne!(id, share_id(rule, here, &other, &to));
        let image = &crate::rule::image::IDENTITY;
        assert_ne!(id, share_id(image, here, &snap, &to));
    }
}
