//! The environment in `--help` and the manual page: the configuration's variables
//! ([`crate::config::VARIABLES`]) and the others the program reads, one line each.

use clap::builder::styling::{Style, Styles};

use crate::config::VARIABLES;

/// The variables read besides the configuration: the AWS SDK's, the logs', those Lambda sets,
/// and colour's. (name, one line).
pub const OTHER_VARIABLES: &[(&str, &str)] = &[
    (
        "AWS_REGION, AWS_PROFILE, ...",
        "the AWS SDK's region, credentials and endpoints",
    ),
    ("RUST_LOG", "log level on stderr (scan: warn)"),
    ("AWS_LAMBDA_LOG_LEVEL", "log level, as RUST_LOG"),
    ("AWS_LAMBDA_LOG_FORMAT", "JSON: structured logs"),
    (
        "AWS_LAMBDA_RUNTIME_API",
        "set by Lambda: with no command, run as the function",
    ),
    (
        "AWS_LAMBDA_FUNCTION_NAME",
        "set by Lambda: the FunctionName of the metrics",
    ),
    ("NO_COLOR", "set, not empty: no colour (--color auto)"),
    ("TERM", "dumb: no colour (--color auto)"),
];

/// What `-h` says after the options.
pub(super) const SHORT: &str = "Environment variables: see --help.";

/// The environment section of `--help`, in clap's heading style (clap drops the style when
/// it does not colour).
pub(super) fn environment() -> String {
    let heading = *Styles::default().get_header();
    let mut text = section(
        heading,
        "Environment (the configuration; docs/configuration.md):",
        VARIABLES,
    );
    text.push('\n');
    text.push_str(&section(heading, "Also read:", OTHER_VARIABLES));
    text
}

fn section(heading: Style, title: &str, variables: &[(&str, &str)]) -> String {
    let width = variables
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    let mut text = format!("{heading}{title}{heading:#}\n");
    for (name, help) in variables {
        text.push_str(&format!("  {name:width$}  {help}\n"));
    }
    text
}
