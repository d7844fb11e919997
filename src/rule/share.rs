//! The share rule: an EBS snapshot was shared with another account or made public.
//!
//! It follows Elastic's "AWS EC2 EBS Snapshot Shared with Another Account" (a successful
//! `ec2.amazonaws.com` `ModifySnapshotAttribute` call that adds create-volume permission for an
//! account other than the owner's) and goes further where that rule is blind:
//! - it reads `requestParameters` as JSON (also when an exporter turned it into a string), not
//!   with a pattern over its text, so key order and formatting do not matter;
//! - it reports every target of a call, not only the first, and public shares (`group: all`);
//! - items under `remove` never count, also when the same call adds and removes;
//! - `attributeType` compares without regard to case or underscores (`CREATE_VOLUME_PERMISSION`,
//!   `createVolumePermission`), and a call that omits it but adds create-volume permission
//!   still counts: the EC2 API lets the caller leave the attribute out, and the permission list
//!   is what shares the data.

use super::grant::{self, Grant};
use super::{texts, Call, Rule, Texts, TrustedAccounts};
use crate::cloudtrail::Record;
use crate::finding::{Finding, Identity, Target, T1537};

pub const EVENT_SOURCE: &str = grant::SNAPSHOT_CALL.source;
pub const EVENT_NAME: &str = grant::SNAPSHOT_CALL.name;

/// Who the rule is: Elastic's rule, by its id.
pub const IDENTITY: Identity = Identity {
    id: "4182e486-fc61-11ee-a05d-f661ea17fbce",
    name: "AWS EC2 EBS Snapshot Shared with Another Account",
    description: "An EBS snapshot was shared with another AWS account or made public; \
                  the data on it can be restored there (exfiltration).",
    severity: "low",
    risk_score: 21,
    kind: "share",
    technique: T1537,
    resolvable: true,
};

pub static RULE: Rule = Rule {
    identity: IDENTITY,
    reads: &[grant::SNAPSHOT_CALL],
    evaluate: grant::shares,
    texts: Texts {
        subject,
        target: texts::target,
        next_steps: texts::next_steps,
    },
};

/// A snapshot share found in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// The account that owns the snapshot, when the record tells.
    pub owner: Option<String>,
    pub snapshot_id: Option<String>,
    pub attribute_type: Option<String>,
    /// Distinct foreign targets, in the order of the request.
    pub targets: Vec<Target>,
}

impl From<Grant> for Share {
    fn from(g: Grant) -> Self {
        Share {
            owner: g.owner,
            snapshot_id: g.resource.id,
            attribute_type: g.attribute,
            targets: g.targets,
        }
    }
}

/// The verdict on one record: `None` unless it shares a snapshot with at least one untrusted
/// foreign account or with everyone. `envelope_account` is the `account` of the EventBridge
/// event that carried it, if any (the owner of last resort). A record whose parameters cannot
/// be read gives `None` here; [`super::evaluate_record`] counts it as a problem.
pub fn evaluate(
    record: &Record<'_>,
    envelope_account: Option<&str>,
    trusted: &TrustedAccounts,
) -> Option<Share> {
    successful(record, envelope_account, trusted)
        .ok()
        .flatten()
        .map(Share::from)
}

/// The grant of a successful `ModifySnapshotAttribute`.
fn successful(
    record: &Record<'_>,
    envelope_account: Option<&str>,
    trusted: &TrustedAccounts,
) -> Result<Option<Grant>, String> {
    let call = Call {
        source: EVENT_SOURCE,
        name: EVENT_NAME,
    };
    if record.event_source != Some(call.source)
        || record.event_name != Some(call.name)
        || record.failed()
    {
        return Ok(None);
    }
    grant::requested(record, envelope_account, trusted)
}

fn subject(f: &Finding) -> String {
    texts::subject(f, "")
}
