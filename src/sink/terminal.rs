//! A finding as people read it on a terminal (`scan --format text`): a short block of three
//! lines, what happened first, then where and by whom, then the id to look it up by.
//!
//! ```text
//! 2024-08-01T12:28:02Z  low   share  EBS snapshot snap-041993b54a9b3af6f → shared with account 098797384747
//!   account 756680937392  us-east-1  by arn:aws:iam::756680937392:user/christophe
//!   finding 1af90e6d-6de3-54b2-a4fa-3bf989178482
//! ```
//!
//! Colour, when asked for, marks the severity; the words say it too. Every field that came
//! from a record is cleaned of control characters first: a crafted record must not be able to
//! send escape sequences to the analyst's terminal.

use std::fmt::Write;

use crate::finding::Finding;
use crate::rule;
use crate::sink::message::kind;
use crate::text::{clip_with, printable};

/// The longest field shown, in bytes (a user agent or an ARN can be 2 KiB).
const MAX_SHOWN: usize = 160;

/// Select Graphic Rendition codes: the start of a style, and its end.
const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

/// The colour of a severity: the higher, the louder.
fn severity_style(severity: &str) -> &'static str {
    match severity.to_ascii_lowercase().as_str() {
        "critical" => "\x1b[1;35m",
        "high" => "\x1b[1;31m",
        "medium" => "\x1b[1;33m",
        "low" => "\x1b[1;36m",
        _ => BOLD,
    }
}

/// A record's field, fit for a terminal: control characters shown as `?`, at most
/// [`MAX_SHOWN`] bytes.
fn shown(s: &str) -> String {
    clip_with(&printable(s), MAX_SHOWN, "…")
}

/// `text` left-aligned in `width` columns, in `style` when colouring.
fn styled(out: &mut String, text: &str, width: usize, style: &str, color: bool) {
    let pad = width.saturating_sub(text.chars().count());
    match color {
        true => write!(out, "{style}{text}{RESET}{:pad$}", ""),
        false => write!(out, "{text}{:pad$}", ""),
    }
    .unwrap_or_default();
}

/// Who did it: the caller's ARN, or the service that acted for it.
fn actor(f: &Finding) -> String {
    let identity = &f.aws.cloudtrail.user_identity;
    match (&identity.arn, &identity.invoked_by, &identity.principal_id) {
        (Some(arn), _, _) => shown(arn),
        (None, Some(service), _) => format!("the service {}", shown(service)),
        (None, None, Some(principal)) => shown(principal),
        (None, None, None) => "an unknown caller".to_owned(),
    }
}

/// The finding as three lines, each ending in a newline; in colour when `color`.
pub fn render(f: &Finding, color: bool) -> String {
    let mut out = String::with_capacity(256);
    let time = f
        .timestamp
        .as_deref()
        .or(f.event.original_time.as_deref())
        .map_or_else(|| "time unknown".to_owned(), shown);
    out.push_str(&time);
    out.push_str("  ");
    let severity = shown(&f.rule.severity);
    styled(&mut out, &severity, 6, severity_style(&severity), color);
    out.push(' ');
    // Aligned for the short kinds (share, use); a longer one keeps one space.
    let kind = if f.is_resolution() {
        "resolved"
    } else {
        kind(f)
    };
    styled(&mut out, kind, 6, BOLD, color);
    out.push(' ');
    out.push_str(f.resource.kind.noun());
    if let Some(id) = &f.resource.id {
        out.push(' ');
        out.push_str(&shown(id));
    }
    let (label, target) = match rule::of(f) {
        Some(rule) => (rule.texts.target)(f),
        None => ("Target", f.user_id.clone()),
    };
    let _ = writeln!(out, " → {} {}", label.to_ascii_lowercase(), shown(&target));
    let account = f.cloud.account.as_ref().map_or("?", |a| a.id.as_str());
    let region = f.cloud.region.as_deref().unwrap_or("?");
    let _ = writeln!(
        out,
        "  account {}  {}  by {}",
        shown(account),
        shown(region),
        actor(f)
    );
    out.push_str("  ");
    let id = format!("finding {}", shown(&f.finding_id));
    styled(&mut out, &id, 0, DIM, color);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{findings_of, share_findings};
    use serde_json::json;

    #[test]
    fn three_lines_with_what_where_who_and_the_id() {
        let f = &share_findings("e1", &["111122223333"])[0];
        let text = render(f, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].ends_with(
                "low    share  EBS snapshot snap-041993b54a9b3af6f → shared with account 111122223333"
            ),
            "{text}"
        );
        assert!(
            lines[1].starts_with("  account 756680937392  ?  by "),
            "{text}"
        );
        assert_eq!(lines[2], format!("  finding {}", f.finding_id));
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn a_public_share_says_so() {
        let f = &share_findings("e1", &["all"])[0];
        assert!(render(f, false)
            .lines()
            .next()
            .unwrap()
            .ends_with("→ shared with everyone (public)"));
    }

    #[test]
    fn colour_marks_the_severity_and_is_only_there_when_asked() {
        let f = &share_findings("e1", &["111122223333"])[0];
        let text = render(f, true);
        assert!(text.contains("\x1b[1;36mlow\x1b[0m"), "{text:?}");
        // The same words, without the codes.
        let plain = render(f, false);
        let mut stripped = text.clone();
        for code in ["\x1b[1;36m", RESET, BOLD, DIM] {
            stripped = stripped.replace(code, "");
        }
        assert_eq!(stripped, plain);
    }

    #[test]
    fn a_record_cannot_send_escape_sequences_to_the_terminal() {
        let raw = json!({
            "eventID": "e1", "eventSource": "ec2.amazonaws.com",
            "eventName": "ModifySnapshotAttribute", "recipientAccountId": "756680937392",
            "awsRegion": "us-east-1\u{1b}[2J",
            "eventTime": "2024-08-01T12:28:02Z",
            "userIdentity": {"arn": "arn:aws:iam::756680937392:user/\u{1b}]0;pwned\u{7}x\n"},
            "requestParameters": {"snapshotId": "snap-1\u{1b}[31m\u{9b}2J",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"userId": "111122223333"}]}}}
        });
        let findings = findings_of(&raw);
        assert_eq!(findings.len(), 1);
        // The finding carries them as they came (JSON escapes them); the text must not.
        assert!(findings[0].to_json().contains("\\u001b"));
        let text = render(&findings[0], false);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert_eq!(text.lines().count(), 3, "{text}");
    }
}
