//! A pseudo-terminal for the binary: util-linux `script` (`script -qec CMD /dev/null`), which
//! every Linux CI image has. Without it the caller is told (`None`) and says so.

use std::process::{Command, Stdio};

/// `'text'` for `sh`.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs the binary `bin` with `args` on a pseudo-terminal (stdout, and stderr unless
/// `stderr` names a file for it), without the variables `unset` and with `env` set; what the
/// terminal showed, with `\r\n` as `\n`. `None` without `script`.
pub fn on_terminal(
    bin: &str,
    args: &[&str],
    env: &[(&str, &str)],
    unset: &[&str],
    stderr: Option<&str>,
) -> Option<String> {
    if !cfg!(target_os = "linux") || Command::new("script").arg("--version").output().is_err() {
        eprintln!("no util-linux script: the terminal tests are skipped");
        return None;
    }
    let mut line = format!("exec {}", quote(bin));
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    if let Some(file) = stderr {
        line.push_str(&format!(" 2>{}", quote(file)));
    }
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null());
    for var in unset {
        cmd.env_remove(var);
    }
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert_eq!(out.status.code(), Some(0), "{shown}");
    Some(shown)
}
