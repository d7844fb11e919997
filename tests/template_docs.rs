//! What the documentation tells a user to run: a command that replaces a shared document (a
//! bucket's notification configuration, a bucket, key or topic policy) must first read it, so
//! that it writes back a merge.

/// The shell blocks of README.md and of every page of docs/, where the deploy commands are;
/// each block starts with a comment naming its file.
fn readme_shell_blocks() -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir("docs")
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    files.sort();
    files.insert(0, "README.md".into());
    let mut blocks = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut current: Option<String> = None;
        for line in text.lines() {
            match (&mut current, line.trim_start()) {
                (None, l) if l.starts_with("```sh") => {
                    current = Some(format!("# {}\n", file.display()))
                }
                (Some(block), l) if l.starts_with("```") => {
                    blocks.push(std::mem::take(block));
                    current = None;
                }
                (Some(block), l) => {
                    block.push_str(l);
                    block.push('\n');
                }
                _ => {}
            }
        }
    }
    blocks
}

#[test]
fn the_readme_keeps_what_it_overwrites() {
    // Each of these calls replaces a whole document (a bucket's notification configuration, a
    // bucket, key or topic policy) that other consumers share: every one the README shows must
    // come after a read of the same document, in the same block, so that it writes back a
    // merge.
    let pairs = [
        (
            "put-bucket-notification-configuration",
            "get-bucket-notification-configuration",
        ),
        ("put-bucket-policy", "get-bucket-policy"),
        ("put-key-policy", "get-key-policy"),
        ("set-topic-attributes", "get-topic-attributes"),
    ];
    let mut writes = 0;
    for block in readme_shell_blocks() {
        for (write, read) in pairs {
            for (at, _) in block.match_indices(write) {
                writes += 1;
                let before = &block[..at];
                assert!(
                    before.contains(read),
                    "README: `{write}` without a `{read}` before it in:\n{block}"
                );
            }
        }
    }
    assert!(writes >= 5, "found only {writes} writes");
}
