//! What the detector did about a finding (`REMEDIATE`): the permission it removed, or why it
//! did not. Written into the finding before it is published, so that one message tells the
//! whole story.

use serde::{Deserialize, Serialize};

/// The finding's `remediation` object; absent when remediation is off, and on findings it never
/// applies to (a use, a failed attempt, a resolution).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remediation {
    /// The call that removes the share, as it was (or would be) made:
    /// `ModifySnapshotAttribute createVolumePermission remove group=all`.
    pub action: String,
    pub outcome: Outcome,
    /// Why, in words: what was read before acting, or the error, or the setting that forbids it.
    pub reason: String,
}

/// How a remediation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The target was there and was removed.
    Done,
    /// The target was no longer there (someone removed it, the resource is gone, or an earlier
    /// delivery of the same event removed it): nothing to do.
    AlreadyGone,
    /// `REMEDIATE_DRY_RUN`: the target is there and would have been removed.
    DryRun,
    /// The read or the removal failed (denied, throttled, unreachable): the share may still be
    /// there.
    Failed,
    /// The configuration does not allow removing this target (the mode, a trusted account, an
    /// organization member, an account the function cannot enter).
    NotAllowed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::AlreadyGone => "already_gone",
            Outcome::DryRun => "dry_run",
            Outcome::Failed => "failed",
            Outcome::NotAllowed => "not_allowed",
        }
    }
}

impl Remediation {
    pub fn new(action: impl Into<String>, outcome: Outcome, reason: impl Into<String>) -> Self {
        Remediation {
            action: action.into(),
            outcome,
            reason: reason.into(),
        }
    }
}
