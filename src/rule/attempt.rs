//! The attempt rule: a share call that failed, naming a foreign or public target. Nothing was
//! shared, but someone tried: an attacker probing what the stolen credentials may do, a share
//! refused by block public access, a public share of an encrypted snapshot, an `AccessDenied`
//! or `UnauthorizedOperation`. Invisible to every share rule (they read successful calls only),
//! and worth a line: the next try may use other credentials, or another door.
//!
//! It reads every call the share rules read (EBS snapshot, AMI, RDS and Aurora snapshots) and
//! reports, for a call with an error code, one finding per target the request named that is
//! neither the owner nor trusted; as the share rules do, not calls of a trusted service. Our own
//! rule id; `low` with a risk score below every share rule's (15): nothing changed, the
//! finding is the attempt itself. `DISABLED_RULES=attempt` switches it off.

use super::grant::{self, CALLS};
use super::{texts, Context, Rule, Texts};
use crate::cloudtrail::Record;
use crate::finding::{Detection, Finding, Identity, Target, T1537};
use crate::text::ascii_safe;

pub const IDENTITY: Identity = Identity {
    id: "8cb4fdad-1f2f-4295-8fad-2520a137e3a8",
    name: "AWS Snapshot or AMI Share Attempt Failed",
    description: "A call to share an EBS snapshot, an AMI or an RDS or Aurora snapshot with \
                  another AWS account or with everyone failed; nothing was shared, but \
                  someone tried (exfiltration attempt).",
    severity: "low",
    risk_score: 15,
    kind: "attempt",
    technique: T1537,
    resolvable: false,
};

pub static RULE: Rule = Rule {
    identity: IDENTITY,
    reads: &CALLS,
    evaluate,
    texts: Texts {
        subject,
        target,
        next_steps,
    },
};

fn evaluate(record: &Record<'_>, cx: &Context<'_>) -> Result<Vec<Detection>, String> {
    if !record.failed() {
        return Ok(Vec::new());
    }
    let error = error_code(record);
    Ok(
        match grant::requested(record, cx.envelope_account, cx.trusted)? {
            Some(g) => grant::detections(record, &g, &|target: &Target| {
                format!("could not be {} ({error})", grant::opened_to(target))
            }),
            None => Vec::new(),
        },
    )
}

/// The error code as the record gives it (a string, or whatever JSON an export left there).
fn error_code(record: &Record<'_>) -> String {
    match record.error_code {
        Some(serde_json::Value::String(code)) => crate::finding::clip(code),
        Some(other) => crate::finding::clip(&other.to_string()),
        None => "an error without a code".to_owned(),
    }
}

fn subject(f: &Finding) -> String {
    let id = ascii_safe(f.resource.id.as_deref().unwrap_or("(unknown)"), 32);
    let noun = f.resource.kind.noun();
    let what = if f.is_public() {
        "make public".to_owned()
    } else {
        format!("share with {}", ascii_safe(&f.user_id, 24))
    };
    format!(
        "[{}] Failed to {what} {noun} {id}",
        ascii_safe(&f.rule.severity, 8)
    )
}

/// Whom the call tried to open the resource to: the share rules' line, as an attempt.
fn target(f: &Finding) -> (&'static str, String) {
    let (label, whom) = texts::target(f);
    let label = match label {
        "Shared with" => "Tried to share with",
        "Shared with organization" => "Tried to share with organization",
        "Shared with organizational unit" => "Tried to share with organizational unit",
        _ => "Tried to share with account",
    };
    (label, whom)
}

fn next_steps(f: &Finding) -> Vec<String> {
    let who = f
        .aws
        .cloudtrail
        .user_identity
        .arn
        .as_deref()
        .unwrap_or("the principal");
    let error = f
        .error
        .as_ref()
        .map_or("an error", |e| e.code.as_deref().unwrap_or("an error"));
    vec![
        format!(
            "Nothing was shared: the call failed ({error}). Find out whether {who} was meant \
             to share this at all."
        ),
        format!(
            "Look for other attempts by {who} around {}: other share calls, a copy with \
             another key (CopySnapshot, CopyImage, CopyDBSnapshot), a block public access \
             setting switched off.",
            f.timestamp.as_deref().unwrap_or("that time")
        ),
        "If the attempt was not expected, review and rotate the credentials of the principal \
         that made it."
            .to_owned(),
    ]
}
