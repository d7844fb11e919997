//! Puts the commit the binary is built from into `--version` (`BUILD_COMMIT`): `git rev-parse
//! --short HEAD`, or `unknown` outside a git checkout or without git.
//!
//! Cargo runs this again only when what names the commit changes: `HEAD`, and the branch's ref
//! (its file, or `packed-refs` while the ref is packed), found through `git rev-parse
//! --git-path` so that a worktree's own `HEAD` is the one watched. Not on every edit: the
//! commit says which commit, not whether the tree had changes on top of it.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_owned())
}

fn watch(path: &str) {
    // A path that does not exist would make Cargo run this on every build.
    if Path::new(path).exists() {
        println!("cargo:rerun-if-changed={path}");
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    println!(
        "cargo:rustc-env=BUILD_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
    if commit.is_none() {
        return;
    }
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        watch(&head);
    }
    // On a branch, HEAD names the ref and the ref names the commit.
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        match git(&["rev-parse", "--git-path", &branch]) {
            Some(file) if Path::new(&file).exists() => watch(&file),
            _ => {
                if let Some(packed) = git(&["rev-parse", "--git-path", "packed-refs"]) {
                    watch(&packed);
                }
                // A commit on a packed branch writes a new loose ref beside the others.
                if let Some(dir) = git(&["rev-parse", "--git-path", &branch])
                    .and_then(|file| Path::new(&file).parent().map(|d| d.display().to_string()))
                {
                    watch(&dir);
                }
            }
        }
    }
}
