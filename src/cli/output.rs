//! How `scan` and `audit` print findings: `--format` and `--color`, and what they are when not given.

use std::ffi::OsString;

use clap::ValueEnum;

use crate::sink::Lines;

/// `--format`: how findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: three lines a finding (when, severity, kind, resource and target; account,
    /// region and actor; the finding id)
    Text,
    /// For programs: one JSON object a line (JSON Lines), the finding as SNS receives it
    Json,
    /// For Security Lake and SIEMs: one OCSF 1.1.0 Detection Finding (class 2004) a line
    Ocsf,
}

/// `--color`: when text is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Color {
    /// On a terminal, unless NO_COLOR is set (not empty) or TERM is dumb
    #[default]
    Auto,
    /// Always, even piped or with NO_COLOR
    Always,
    /// Never
    Never,
}

/// What `--format` and `--color` come to: text when asked for, or by default on a terminal
/// (`terminal`: stdout is one), else JSON Lines as before there was a choice; OCSF only when
/// asked for. `env` reads the environment (`NO_COLOR`, `TERM`).
pub(super) fn lines(
    format: Option<Format>,
    color: Color,
    terminal: bool,
    env: impl Fn(&str) -> Option<OsString>,
) -> Lines {
    let text = match format {
        Some(Format::Text) => true,
        Some(Format::Json) => false,
        Some(Format::Ocsf) => return Lines::Ocsf,
        None => terminal,
    };
    if !text {
        return Lines::Json;
    }
    // https://no-color.org: a NO_COLOR that is set and not empty; a command-line flag wins.
    let no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = env("TERM").is_some_and(|v| v == "dumb");
    let color = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && !no_color && !dumb,
    };
    Lines::Text { color }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn text_on_a_terminal_json_otherwise() {
        let none = env(&[]);
        let color = Lines::Text { color: true };
        assert_eq!(lines(None, Color::Auto, true, &none), color);
        assert_eq!(lines(None, Color::Auto, false, &none), Lines::Json);
        assert_eq!(
            lines(Some(Format::Json), Color::Always, true, &none),
            Lines::Json
        );
        assert_eq!(
            lines(Some(Format::Text), Color::Auto, false, &none),
            Lines::Text { color: false }
        );
        // OCSF when asked for, on a terminal too; never by default.
        assert_eq!(
            lines(Some(Format::Ocsf), Color::Always, true, &none),
            Lines::Ocsf
        );
        assert_eq!(
            lines(Some(Format::Text), Color::Always, false, &none),
            color
        );
    }

    #[test]
    fn no_color_dumb_terminals_and_never_turn_colour_off() {
        let plain = Lines::Text { color: false };
        let set = env(&[("NO_COLOR", "1")]);
        assert_eq!(lines(None, Color::Auto, true, &set), plain);
        assert_eq!(lines(None, Color::Never, true, env(&[])), plain);
        assert_eq!(
            lines(None, Color::Auto, true, env(&[("TERM", "dumb")])),
            plain
        );
        // Set but empty is not set; the flag wins over the variable.
        let empty = env(&[("NO_COLOR", "")]);
        assert_eq!(
            lines(None, Color::Auto, true, &empty),
            Lines::Text { color: true }
        );
        assert_eq!(
            lines(None, Color::Always, true, &set),
            Lines::Text { color: true }
        );
    }
}
