//! The documentation holds together: README.md stays a front page, and every relative link in
//! it and in `docs/*.md` points to a file that exists and, with an `#anchor`, to a heading of
//! that file, as GitHub renders it.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// README.md and every page of docs/, in a fixed order.
fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir("docs")
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    pages.insert(0, PathBuf::from("README.md"));
    pages
}

/// The lines of a Markdown text outside fenced code blocks (which hold `# comments`, not
/// headings, and `[x](y)` that is code, not a link).
fn prose(text: &str) -> Vec<&str> {
    let mut fence: Option<&str> = None;
    let mut lines = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        match fence {
            None if trimmed.starts_with("```") => fence = Some("```"),
            None if trimmed.starts_with("~~~") => fence = Some("~~~"),
            None => lines.push(line),
            Some(f) if trimmed.starts_with(f) => fence = None,
            Some(_) => {}
        }
    }
    lines
}

/// GitHub's anchor for a heading's text: links reduced to their text, lowercase, every
/// character that is not a letter, a digit, a space, `-` or `_` dropped, spaces turned to `-`.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // `[text](target)` reads as `text`.
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|at| open + at) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|at| close + at) else {
            break;
        };
        text.push_str(&rest[..open]);
        text.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown text's headings; a repeated heading gets `-1`, `-2`, ... as on
/// GitHub.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut anchors = Vec::new();
    for line in prose(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(line[hashes..].trim().trim_end_matches('#'));
        let n = seen.entry(base.clone()).or_insert(0);
        anchors.push(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    anchors
}

/// The targets of the inline links `[text](target)` of a Markdown text, outside code blocks
/// and code spans (a code span may run over lines, not over a blank line).
fn links(text: &str) -> Vec<String> {
    let lines = prose(text);
    let mut targets = Vec::new();
    for paragraph in lines.split(|line| line.trim().is_empty()) {
        let paragraph = paragraph.join("\n");
        // Outside code spans: the even pieces between backticks.
        for piece in paragraph.split('`').step_by(2) {
            let mut rest = piece;
            while let Some(at) = rest.find("](") {
                let after = &rest[at + 2..];
                let end = after.find(')').unwrap_or(after.len());
                // `(target "title")` and `(<target>)` name the same target.
                let target = after[..end].split_whitespace().next().unwrap_or("");
                targets.push(target.trim_matches(['<', '>']).to_owned());
                rest = &after[end..];
            }
        }
    }
    targets
}

/// `base/relative`, with `.` and `..` resolved, as a path from the repository root.
fn resolve(base: &Path, relative: &str) -> PathBuf {
    let mut path = PathBuf::new();
    for component in base.join(relative).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => assert!(path.pop(), "{relative} leaves the repository"),
            other => path.push(other),
        }
    }
    path
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug("The rule"), "the-rule");
    assert_eq!(
        slug("One alert per finding (`DEDUP_TABLE`)"),
        "one-alert-per-finding-dedup_table"
    );
    assert_eq!(
        slug("Hunting history with `scan s3://`"),
        "hunting-history-with-scan-s3"
    );
    assert_eq!(
        slug("Real time: a central bus and a forwarder in every account (untried)"),
        "real-time-a-central-bus-and-a-forwarder-in-every-account-untried"
    );
    assert_eq!(slug("See [the rule](x.md#y)"), "see-the-rule");
    assert_eq!(
        anchors("# A\n```sh\n# not a heading\n```\n## A\n#nor this\n"),
        ["a", "a-1"]
    );
    assert_eq!(
        links("[a](x.md) `[b](code)` and\n[c](y.md#z \"title\")\n```\n[d](e)\n```\n"),
        ["x.md", "y.md#z"]
    );
}

#[test]
fn every_relative_link_resolves() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let dir = page.parent().unwrap();
        for target in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, anchor) = match target.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = if file.is_empty() {
                page.clone()
            } else {
                resolve(dir, file)
            };
            if !file.exists() {
                problems.push(format!(
                    "{}: {target}: no file {}",
                    page.display(),
                    file.display()
                ));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if file.extension().is_none_or(|ext| ext != "md") {
                problems.push(format!(
                    "{}: {target}: an anchor in a file that is not Markdown",
                    page.display()
                ));
                continue;
            }
            let headings = anchors(&std::fs::read_to_string(&file).unwrap());
            if !headings.iter().any(|h| h == anchor) {
                problems.push(format!(
                    "{}: {target}: no heading #{anchor} in {} (it has: {})",
                    page.display(),
                    file.display(),
                    headings.join(", ")
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
    assert!(checked >= 20, "only {checked} relative links found");
}

#[test]
fn the_readme_links_every_page_of_docs() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let linked = links(&readme);
    for page in pages().into_iter().skip(1) {
        let target = page.to_str().unwrap().replace('\\', "/");
        assert!(
            linked.iter().any(|l| l == &target),
            "README.md does not link {target}"
        );
    }
}

#[test]
fn the_readme_is_a_front_page() {
    let lines = std::fs::read_to_string("README.md")
        .unwrap()
        .lines()
        .count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; move the detail to docs/"
    );
}
