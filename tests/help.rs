//! The command describes itself truly: `--help` names every environment variable the program
//! reads, the shell completions parse, the manual page renders, `--version` names the commit.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use snapshot_share_detector::cli::OTHER_VARIABLES;
use snapshot_share_detector::config::VARIABLES;

fn run(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(args: &[&str]) -> String {
    String::from_utf8(run(args).stdout).unwrap()
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The names the program's own code reads from the environment: the string literal in each
/// `var("NAME")`, `var_os("NAME")` (std::env), `value("NAME")` (the configuration) and
/// `env("NAME")` (`--color`).
fn variables_read() -> BTreeSet<String> {
    let mut files = Vec::new();
    sources(Path::new("src"), &mut files);
    let mut names = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for call in ["var(\"", "var_os(\"", "value(\"", "env(\""] {
            for (at, _) in text.match_indices(call) {
                let rest = &text[at + call.len()..];
                let name = &rest[..rest.find('"').unwrap()];
                if !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                    names.insert(name.to_owned());
                }
            }
        }
    }
    names
}

#[test]
fn help_names_every_variable_the_program_reads() {
    let read = variables_read();
    for must in [
        "FINDINGS_TOPIC_ARN",
        "AWS_LAMBDA_RUNTIME_API",
        "RUST_LOG",
        "NO_COLOR",
    ] {
        assert!(
            read.contains(must),
            "the source scan missed {must}: {read:?}"
        );
    }
    let listed: Vec<&str> = VARIABLES
        .iter()
        .chain(OTHER_VARIABLES)
        .map(|(name, _)| *name)
        .collect();
    for args in [&["--help"][..], &["scan", "--help"][..]] {
        let help = stdout(args);
        for name in read
            .iter()
            .map(String::as_str)
            .chain(listed.iter().copied())
        {
            // One line each: the name, then what it does.
            let line = help
                .lines()
                .find(|l| l.trim_start().starts_with(name))
                .unwrap_or_else(|| panic!("{args:?} does not list {name}:\n{help}"));
            assert!(
                line.len() > name.len() + 10,
                "{args:?}: {name} is not described: {line:?}"
            );
        }
    }
    // `-h` stays short and says where they are.
    let short = stdout(&["scan", "-h"]);
    assert!(!short.contains("MAX_OBJECT_BYTES"), "{short}");
    assert!(short.contains("see --help"), "{short}");
}

#[test]
fn help_lists_the_commands_and_the_output_options() {
    let help = stdout(&["--help"]);
    for command in ["scan", "completions", "man"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "{help}"
        );
    }
    let scan = stdout(&["scan", "--help"]);
    for option in ["--format", "--color", "text", "json", "always", "never"] {
        assert!(scan.contains(option), "{option}: {scan}");
    }
}

#[test]
fn the_bash_completion_parses_and_completes_scan() {
    let script = stdout(&["completions", "bash"]);
    for word in ["scan", "completions", "--format", "--color", "--since"] {
        assert!(script.contains(word), "{word}");
    }
    let file = std::env::temp_dir().join(format!("ssd-completion-{}.bash", std::process::id()));
    std::fs::write(&file, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output();
    let _ = std::fs::remove_file(&file);
    match check {
        Ok(out) => assert!(
            out.status.success(),
            "bash -n: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("no bash ({e}): the syntax check is skipped"),
    }
}

#[test]
fn zsh_and_fish_completions_name_the_commands() {
    for (shell, checker) in [("zsh", "zsh"), ("fish", "fish")] {
        let script = stdout(&["completions", shell]);
        for word in ["scan", "format", "color"] {
            assert!(script.contains(word), "{shell}: {word}");
        }
        // Checked by the shell itself where it is installed.
        let file =
            std::env::temp_dir().join(format!("ssd-completion-{}.{shell}", std::process::id()));
        std::fs::write(&file, &script).unwrap();
        if let Ok(out) = Command::new(checker).arg("-n").arg(&file).output() {
            assert!(
                out.status.success(),
                "{checker} -n: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let _ = std::fs::remove_file(&file);
    }
}

/// `text` as roff writes it: `-` as `\-`.
fn roff(text: &str) -> String {
    text.replace('-', "\\-")
}

#[test]
fn the_man_page_names_every_command_option_and_variable() {
    let page = stdout(&["man"]);
    let first = page
        .lines()
        .find(|l| !l.starts_with(".ie") && !l.starts_with(".el"));
    assert!(first.is_some_and(|l| l.starts_with(".TH ")), "{first:?}");
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "ENVIRONMENT"] {
        assert!(
            page.contains(&format!(".SH {section}\n")),
            "no section {section}"
        );
    }
    for command in ["scan", "completions", "man"] {
        assert!(
            page.contains(&format!(".SS {command}\n")),
            "no command {command}"
        );
    }
    for option in [
        "--publish",
        "--quiet",
        "--concurrency",
        "--since",
        "--until",
        "--account",
        "--region",
        "--manifest",
        "--format",
        "--color",
        "--version",
    ] {
        assert!(page.contains(&roff(option)), "no option {option}");
    }
    for (name, _) in VARIABLES.iter().chain(OTHER_VARIABLES) {
        assert!(
            page.contains(&format!("\\fB{}\\fR", roff(name))),
            "no {name}"
        );
    }
    assert!(!page.contains('\x1b'), "escape codes in the page");
}

#[test]
fn the_man_page_renders_without_warnings() {
    let file = std::env::temp_dir().join(format!("ssd-man-{}.1", std::process::id()));
    std::fs::write(&file, stdout(&["man"])).unwrap();
    // groff with every warning on (plain text: no overstriking); else man itself; else the
    // roff checks above stand alone.
    let rendered = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .arg(&file)
        .output()
        .or_else(|_| {
            Command::new("man")
                .arg("-l")
                .arg(&file)
                .env("MANWIDTH", "100")
                .output()
        });
    let _ = std::fs::remove_file(&file);
    let Ok(out) = rendered else {
        eprintln!("neither groff nor man: the rendering is not checked");
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    for want in ["ENVIRONMENT", "TRUSTED_ACCOUNT_IDS", "scan", "--format"] {
        // groff may set hyphens as U+2010 or U+2212.
        let shown = text.replace(['\u{2010}', '\u{2212}'], "-");
        assert!(
            shown.contains(want),
            "{want} not in the rendered page:\n{text}"
        );
    }
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let version = stdout(&["--version"]);
    let head = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let commit = head.as_deref().unwrap_or("unknown");
    assert_eq!(
        version,
        format!(
            "snapshot-share-detector {} (commit {commit})\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}
