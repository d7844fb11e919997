//! `scan` for people and for pipes: text on a terminal, coloured unless told not to; JSON Lines
//! when piped, the same bytes as `--format json`.
//!
//! A terminal is a pseudo-terminal from util-linux `script` (`script -qec CMD /dev/null`),
//! which every Linux CI image has; without it the terminal tests say so and pass.

mod support;

use std::process::{Command, Output};

use support::terminal::on_terminal;

const BIN: &str = env!("CARGO_BIN_EXE_snapshot-share-detector");

/// The variables that would change what these tests see, removed from their environment.
const UNSET: [&str; 5] = [
    "FINDINGS_TOPIC_ARN",
    "TRUSTED_ACCOUNT_IDS",
    "AWS_LAMBDA_RUNTIME_API",
    "RUST_LOG",
    "NO_COLOR",
];

fn bin() -> Command {
    let mut cmd = Command::new(BIN);
    for var in UNSET {
        cmd.env_remove(var);
    }
    cmd
}

fn piped(args: &[&str]) -> Output {
    let out = bin().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A scratch file name for this test process.
fn scratch(name: &str) -> String {
    std::env::temp_dir()
        .join(format!("ssd-terminal-{}-{name}", std::process::id()))
        .display()
        .to_string()
}

/// How many findings `scan events/` gives, counted from its JSON.
fn sample_findings() -> usize {
    let out = piped(&["scan", "--format", "json", "events/"]);
    String::from_utf8(out.stdout).unwrap().lines().count()
}

#[test]
fn on_a_terminal_scan_prints_readable_lines_in_colour() {
    let Some(shown) = on_terminal(BIN, &["scan", "events/"], &[], &UNSET, None) else {
        return;
    };
    assert!(!shown.contains("{\""), "JSON on a terminal:\n{shown}");
    // Every finding in three lines, then the summary (stderr, the same terminal).
    let lines: Vec<&str> = shown.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), sample_findings() * 3 + 1, "{shown}");
    let plain = strip_sgr(&shown);
    for want in [
        "low    share  EBS snapshot snap-041993b54a9b3af6f → shared with account 098797384747",
        "  account 756680937392  me-central-3r  by arn:aws:iam::756680937392:user/christophe",
        "  finding c0a0b491-614b-5136-8e14-96d7c3bed564",
        "EBS snapshot snap-1111 → shared with everyone (public)",
        "high   use    EBS snapshot snap-0a9e1526b9b037a30 → used by account 210987654321",
    ] {
        assert!(plain.contains(want), "no {want:?} in\n{plain}");
    }
    assert!(
        plain
            .lines()
            .any(|l| l.starts_with("scanned ") && l.contains(" inputs")),
        "{plain}"
    );
    // The severity in colour: high in red, low in cyan.
    assert!(shown.contains("\x1b[1;31mhigh\x1b[0m"), "{shown:?}");
    assert!(shown.contains("\x1b[1;36mlow\x1b[0m"), "{shown:?}");
}

#[test]
fn no_color_and_color_never_print_no_escape_codes() {
    let err = scratch("stderr");
    for (args, env) in [
        (&["scan", "events/"][..], &[("NO_COLOR", "1")][..]),
        (&["scan", "--color", "never", "events/"][..], &[][..]),
        (&["scan", "events/"][..], &[("TERM", "dumb")][..]),
    ] {
        let Some(shown) = on_terminal(BIN, args, env, &UNSET, Some(&err)) else {
            return;
        };
        assert!(!shown.contains('\x1b'), "{args:?} {env:?}: {shown:?}");
        assert_eq!(shown.lines().count(), sample_findings() * 3, "{shown}");
        assert!(shown.contains("→ shared with everyone (public)"), "{shown}");
    }
    let _ = std::fs::remove_file(err);
}

#[test]
fn on_a_terminal_format_json_prints_json() {
    let Some(shown) = on_terminal(
        BIN,
        &["scan", "--format", "json", "events/"],
        &[],
        &UNSET,
        Some("/dev/null"),
    ) else {
        return;
    };
    let piped = piped(&["scan", "events/"]);
    assert_eq!(shown, String::from_utf8(piped.stdout).unwrap());
}

#[test]
fn piped_scan_prints_json_lines_the_same_bytes_as_format_json() {
    for path in ["events/", "tests/fixtures/corpus"] {
        let default = piped(&["scan", path]);
        let json = piped(&["scan", "--format", "json", "--color", "always", path]);
        assert_eq!(default.stdout, json.stdout, "{path}");
        let text = String::from_utf8(default.stdout).unwrap();
        assert!(!text.is_empty());
        for line in text.lines() {
            let finding: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(finding["finding_id"].is_string(), "{line}");
        }
    }
}

#[test]
fn piped_text_is_plain_unless_colour_is_forced() {
    let plain = piped(&["scan", "--format", "text", "events/"]);
    let plain = String::from_utf8(plain.stdout).unwrap();
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert_eq!(plain.lines().count(), sample_findings() * 3, "{plain}");
    let forced = piped(&["scan", "--format", "text", "--color", "always", "events/"]);
    let forced = String::from_utf8(forced.stdout).unwrap();
    assert!(forced.contains("\x1b[1;36mlow\x1b[0m"), "{forced:?}");
    assert_eq!(strip_sgr(&forced), plain);
    // NO_COLOR gives way to the flag (https://no-color.org).
    let out = bin()
        .args(["scan", "--format", "text", "--color", "always", "events/"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), forced);
}

#[test]
fn format_and_color_refuse_what_they_do_not_know() {
    for args in [
        &["scan", "--format", "yaml", "events/"][..],
        &["scan", "--color", "sometimes", "events/"][..],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("possible values"), "{err}");
    }
}

/// `text` without its control sequences (`ESC [`, parameters, a final byte: colours among
/// them).
fn strip_sgr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after
            .find(|c: char| ('\x40'..='\x7e').contains(&c))
            .map_or(after.len(), |end| end + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}
