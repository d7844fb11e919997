//! What people read: the plain-text e-mail body and the chat card (the custom notification of
//! Amazon Q Developer in chat applications) of a finding. Machines get the JSON finding; see
//! the SNS sink.

use serde_json::{json, Value};

use crate::finding::Finding;

/// What the finding says happened, in one line for people: who did what to which snapshot.
fn headline(f: &Finding) -> String {
    printable(&f.message)
}

/// Control characters (a crafted record field could carry line breaks) shown as `?`, so that
/// a field cannot forge lines of the text around it.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// (label, value) lines describing the finding, each present only when the finding has it.
fn facts(f: &Finding) -> Vec<(&'static str, String)> {
    let ct = &f.aws.cloudtrail;
    let mut lines = vec![(
        "Rule",
        format!(
            "{} (severity {}, risk score {})",
            f.rule.name, f.rule.severity, f.rule.risk_score
        ),
    )];
    let when = match (&f.timestamp, &f.event.original_time) {
        (Some(t), _) => t.clone(),
        (None, Some(raw)) => format!("{raw} (as recorded; not a time we could read)"),
        (None, None) => "not recorded".to_owned(),
    };
    lines.push(("When", when));
    if let Some(snapshot) = &f.snapshot_id {
        lines.push(("Snapshot", snapshot.clone()));
    }
    let owner = f.cloud.account.as_ref().map(|a| a.id.as_str());
    let region = f.cloud.region.as_deref();
    lines.push((
        "Owner account",
        match (owner, region) {
            (Some(o), Some(r)) => format!("{o} (region {r})"),
            (Some(o), None) => o.to_owned(),
            (None, Some(r)) => format!("unknown (region {r})"),
            (None, None) => "unknown".to_owned(),
        },
    ));
    if f.is_use() {
        lines.push(("Used by account", f.user_id.clone()));
    } else if f.is_public() {
        lines.push(("Shared with", "everyone (public)".to_owned()));
    } else {
        lines.push(("Shared with account", f.user_id.clone()));
    }
    let identity = &ct.user_identity;
    if let Some(arn) = &identity.arn {
        let kind = identity
            .kind
            .as_deref()
            .map(|k| format!(" ({k})"))
            .unwrap_or_default();
        lines.push(("By", format!("{arn}{kind}")));
    } else if let Some(by) = &identity.invoked_by {
        lines.push(("By", format!("the service {by}")));
    }
    if let Some(source) = &f.source {
        lines.push(("From", source.address.clone()));
    }
    if let Some(ua) = &f.user_agent {
        lines.push(("User agent", ua.original.clone()));
    }
    let mut event = f.event.action.clone();
    if let Some(id) = &f.event.id {
        event.push_str(&format!(", event id {id}"));
    }
    if let Some(id) = &ct.request_id {
        event.push_str(&format!(", request id {id}"));
    }
    lines.push(("CloudTrail event", event));
    if let Some(log) = &f.log {
        lines.push(("Log file", log.file.path.clone()));
    }
    lines.push(("Finding id", f.finding_id.clone()));
    lines
        .into_iter()
        .map(|(label, value)| (label, printable(&value)))
        .collect()
}

/// What a responder does next, most urgent first.
fn next_steps(f: &Finding) -> Vec<String> {
    let snapshot = f.snapshot_id.as_deref().unwrap_or("SNAPSHOT_ID");
    let region = f
        .cloud
        .region
        .as_deref()
        .map(|r| format!(" --region {r}"))
        .unwrap_or_default();
    let remove = |who: &str| {
        format!(
            "aws ec2 modify-snapshot-attribute --snapshot-id {snapshot} --attribute \
             createVolumePermission --operation-type remove {who}{region}"
        )
    };
    let steps = if f.is_use() {
        vec![
            format!(
                "Treat this as data that has left: account {} now holds a copy or a volume of \
                 the snapshot. Find out what {snapshot} holds (the volume it was taken from).",
                f.user_id
            ),
            format!(
                "Stop further use: {}; check for a public share too (describe-snapshot-attribute).",
                remove(&format!("--user-ids {}", f.user_id))
            ),
            format!(
                "Find who shared it: the ModifySnapshotAttribute calls on {snapshot} in CloudTrail, \
                 and what that principal did around then."
            ),
            "If the account is a backup or disaster-recovery account of yours, add it to \
             TRUSTED_ACCOUNT_IDS."
                .to_owned(),
        ]
    } else if f.is_public() {
        vec![
            format!(
                "Make it private now, anyone can copy it: {}.",
                remove("--group-names all")
            ),
            "Find out what the snapshot holds, and whether the call was expected; if not, \
             review and rotate the credentials of the principal that made it."
                .to_owned(),
            format!(
                "Look for SharedSnapshotCopyInitiated and SharedSnapshotVolumeCreated on \
                 {snapshot}: they record a use by another account."
            ),
        ]
    } else {
        vec![
            format!(
                "Check whether account {} is expected (a backup or disaster-recovery account); \
                 if it is, add it to TRUSTED_ACCOUNT_IDS.",
                f.user_id
            ),
            format!(
                "If it is not, remove the permission: {}.",
                remove(&format!("--user-ids {}", f.user_id))
            ),
            "Find out whether the call was expected; if not, review and rotate the credentials \
             of the principal that made it."
                .to_owned(),
            format!(
                "Look for SharedSnapshotCopyInitiated and SharedSnapshotVolumeCreated on \
                 {snapshot}: they record a use by the other account."
            ),
        ]
    };
    steps.iter().map(|s| printable(s)).collect()
}

/// The plain-text body e-mail subscribers get: what happened, the facts, what to do next.
pub fn email_text(f: &Finding) -> String {
    let mut out = headline(f);
    out.push_str(".\n\nWhat happened\n");
    let facts = facts(f);
    let width = facts.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (label, value) in &facts {
        out.push_str(&format!("  {label:<width$}  {value}\n"));
    }
    out.push_str("\nWhat to do next\n");
    for (n, step) in next_steps(f).iter().enumerate() {
        out.push_str(&format!("  {}. {step}\n", n + 1));
    }
    out.push_str(
        "\nMITRE ATT&CK T1537 (Transfer Data to Cloud Account). Queue and function \
         subscribers of this topic receive the same finding as JSON.\n",
    );
    out
}

/// The finding as a custom notification of Amazon Q Developer in chat applications
/// (`version` 1.0, `source` custom, `client-markdown` text), so that a chat channel shows a
/// card: the subject as title, the facts as a list, the next steps, and the ids in metadata.
pub fn chatbot_message(f: &Finding) -> Value {
    // Record values are shown as code, so that markdown in them cannot format the card.
    let code = |s: &str| format!("`{}`", s.replace('`', "'"));
    // The headline in plain text, without the characters that open code, links or mentions.
    let plain: String = headline(f)
        .chars()
        .filter(|c| !matches!(c, '`' | '<' | '>' | '*' | '~'))
        .collect();
    let mut description = format!("{plain}.\n");
    for (label, value) in facts(f) {
        description.push_str(&format!("• *{label}*: {}\n", code(&value)));
    }
    let emoji = if f.is_use() || f.is_public() {
        ":rotating_light:"
    } else {
        ":warning:"
    };
    let mut related = Vec::new();
    if let Some(snapshot) = &f.snapshot_id {
        related.push(snapshot.clone());
    }
    related.push(f.user_id.clone());
    json!({
        "version": "1.0",
        "source": "custom",
        "id": f.finding_id,
        "content": {
            "textType": "client-markdown",
            "title": format!("{emoji} {}", subject(f)),
            "description": description,
            "nextSteps": next_steps(f),
            "keywords": [f.rule.severity, f.kind(), f.event.action, "T1537"],
        },
        "metadata": {
            "threadId": f.snapshot_id.clone().unwrap_or_else(|| f.finding_id.clone()),
            "summary": subject(f),
            "eventType": f.event.action,
            "relatedResources": related,
            "additionalContext": {
                "finding_id": f.finding_id,
                "rule_id": f.rule.id,
                "severity": f.rule.severity,
                "finding_kind": f.kind(),
            },
        },
    })
}

/// A one-line SNS subject under 100 characters, for e-mail subscribers.
pub fn subject(f: &Finding) -> String {
    let snapshot = f.snapshot_id.as_deref().unwrap_or("(unknown)");
    let severity = subject_safe(&f.rule.severity, 8);
    let subject = if f.is_use() {
        let verb = if f.event.action == crate::rule::used::COPY_EVENT {
            "copied by"
        } else {
            "made a volume in"
        };
        format!(
            "[{severity}] EBS snapshot {} {verb} {}",
            subject_safe(snapshot, 32),
            subject_safe(&f.user_id, 24)
        )
    } else if f.is_public() {
        format!(
            "[{severity}] EBS snapshot {} made public",
            subject_safe(snapshot, 32)
        )
    } else {
        format!(
            "[{severity}] EBS snapshot {} shared with {}",
            subject_safe(snapshot, 32),
            subject_safe(&f.user_id, 24)
        )
    };
    debug_assert!(subject.len() < 100);
    subject
}

/// Printable ASCII only (SNS subjects allow no control characters), at most `max` characters.
fn subject_safe(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('~');
    }
    out
}
