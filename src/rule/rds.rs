//! The RDS share rule: an RDS DB snapshot or an Aurora (or Multi-AZ) DB cluster snapshot was
//! shared with another account or made public, through its `restore` attribute
//! (`ModifyDBSnapshotAttribute`, `ModifyDBClusterSnapshotAttribute` with `attributeName`
//! `restore`; the accounts in `valuesToAdd`, `all` for everyone). The other account restores
//! the database, or copies the snapshot, in its own account.
//!
//! Elastic's "AWS RDS DB Snapshot Shared with Another Account" (its id, severity and risk
//! score), extended to cluster snapshots, which share the same way, and read as the other share
//! rules read their calls: every value, one finding per foreign target, never `valuesToRemove`,
//! failed calls, self-shares or trusted accounts. RDS refuses to make an encrypted snapshot
//! public; such a call fails, and the attempt rule reports it.

use super::grant::{self, DB_CLUSTER_SNAPSHOT_CALL, DB_SNAPSHOT_CALL};
use super::{texts, Rule, Texts};
use crate::finding::{Finding, Identity, T1537};

pub const IDENTITY: Identity = Identity {
    id: "4577ef08-61d1-4458-909f-25a4b10c87fe",
    name: "AWS RDS DB Snapshot Shared with Another Account",
    description: "An RDS or Aurora snapshot was shared with another AWS account or made \
                  public; the database can be restored there (exfiltration).",
    severity: "medium",
    risk_score: 47,
    kind: "share",
    technique: T1537,
    resolvable: true,
};

pub static RULE: Rule = Rule {
    identity: IDENTITY,
    reads: &[DB_SNAPSHOT_CALL, DB_CLUSTER_SNAPSHOT_CALL],
    evaluate: grant::shares,
    texts: Texts {
        subject,
        target: texts::target,
        next_steps: texts::next_steps,
    },
};

fn subject(f: &Finding) -> String {
    texts::subject(f, "")
}
