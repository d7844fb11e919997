//! What `scan` reads: the command line's paths expanded into inputs, in order.

use std::io;
use std::path::{Path, PathBuf};

use crate::source::S3Url;

/// One input to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Input {
    Stdin,
    File(PathBuf),
    /// An object, or every object under a prefix.
    S3(S3Url),
}

/// Expands the command-line paths, in order; directories become their files, sorted.
pub(super) fn inputs(paths: &[String]) -> Vec<io::Result<Input>> {
    if paths.is_empty() {
        return vec![Ok(Input::Stdin)];
    }
    let mut out = Vec::new();
    for path in paths {
        if path == "-" {
            out.push(Ok(Input::Stdin));
        } else if path.starts_with("s3://") {
            out.push(S3Url::parse(path).map(Input::S3).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{path}: not s3://BUCKET/KEY"),
                )
            }));
        } else {
            walk(Path::new(path), &mut out);
        }
    }
    out
}

/// A file, or the files under a directory (recursively, sorted by name). Symbolic links to
/// directories are not followed, so a link cycle cannot loop.
fn walk(path: &Path, out: &mut Vec<io::Result<Input>>) {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            out.push(Err(io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            )));
            return;
        }
    };
    if !meta.is_dir() {
        out.push(Ok(Input::File(path.to_owned())));
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => {
            out.push(Err(io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            )));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let is_link_to_dir = std::fs::symlink_metadata(&child)
            .map(|m| m.file_type().is_symlink() && child.is_dir())
            .unwrap_or(false);
        if !is_link_to_dir {
            walk(&child, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_expand_sorted_and_recursively() {
        let dir = std::env::temp_dir().join(format!("ssd-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("b/inner")).unwrap();
        for f in ["c.json", "a.json", "b/inner/z.json", "b/y.json"] {
            std::fs::write(dir.join(f), "{}").unwrap();
        }
        let got: Vec<String> = inputs(&[dir.display().to_string()])
            .into_iter()
            .map(|i| match i.unwrap() {
                Input::File(p) => p.strip_prefix(&dir).unwrap().display().to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, vec!["a.json", "b/inner/z.json", "b/y.json", "c.json"]);
        let missing = inputs(&[dir.join("nope").display().to_string()]);
        assert!(missing[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("nope"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
