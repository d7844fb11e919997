//! What people read: the plain-text e-mail body and the chat card (the custom notification of
//! Amazon Q Developer in chat applications) of a finding. Machines get the JSON finding; see
//! the SNS sink.

use serde_json::{json, Value};

use crate::finding::Finding;
use crate::rule::{self, Rule};
use crate::text::{ascii_safe, printable};

/// What the finding says happened, in one line for people: who did what to which resource.
fn headline(f: &Finding) -> String {
    printable(&f.message)
}

/// The finding's kind (`share`, `use`, ...): its rule's, or `unknown` for a rule this build
/// does not have (a finding read back from elsewhere).
pub fn kind(f: &Finding) -> &'static str {
    rule::of(f).map_or("unknown", |r| r.identity.kind)
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
    if let Some(id) = &f.resource.id {
        lines.push((f.resource.kind.label(), id.clone()));
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
    lines.push(match rule::of(f) {
        Some(rule) => (rule.texts.target)(f),
        None => ("Target", f.user_id.clone()),
    });
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
    // A call an AWS service made through the caller's role: name the service too.
    if let (Some(_), Some(by)) = (&identity.arn, &identity.invoked_by) {
        lines.push(("Through the service", by.clone()));
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

/// What a responder does next, most urgent first: the rule's steps.
fn next_steps(f: &Finding) -> Vec<String> {
    let steps = rule::of(f).map_or_else(Vec::new, |r: &Rule| (r.texts.next_steps)(f));
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
    let technique = &f.rule.threat.technique;
    out.push_str(&format!(
        "\nMITRE ATT&CK {} ({}). Queue and function subscribers of this topic receive the \
         same finding as JSON.\n",
        technique.id, technique.name
    ));
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
    // Public, or high and above: the data is out, or anyone can take it.
    let urgent = f.is_public() || matches!(f.rule.severity.as_str(), "high" | "critical");
    let emoji = if urgent {
        ":rotating_light:"
    } else {
        ":warning:"
    };
    let mut related = Vec::new();
    if let Some(id) = &f.resource.id {
        related.push(id.clone());
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
            "keywords": [f.rule.severity, kind(f), f.event.action, f.rule.threat.technique.id],
        },
        "metadata": {
            "threadId": f.resource.id.clone().unwrap_or_else(|| f.finding_id.clone()),
            "summary": subject(f),
            "eventType": f.event.action,
            "relatedResources": related,
            "additionalContext": {
                "finding_id": f.finding_id,
                "rule_id": f.rule.id,
                "severity": f.rule.severity,
                "finding_kind": kind(f),
            },
        },
    })
}

/// A one-line SNS subject under 100 characters, for e-mail subscribers: the rule's.
pub fn subject(f: &Finding) -> String {
    let subject = match rule::of(f) {
        Some(rule) => (rule.texts.subject)(f),
        None => format!(
            "[{}] {}",
            ascii_safe(&f.rule.severity, 8),
            ascii_safe(&f.message, 80)
        ),
    };
    debug_assert!(subject.len() < 100);
    subject
}
