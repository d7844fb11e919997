//! The manual page, generated from the same clap definitions as `--help`: one page for the
//! command and every subcommand (`man snapshot-share-detector` shows `scan`'s options too),
//! and an ENVIRONMENT section of every variable read.

use std::io;

use clap::{Command, CommandFactory};
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use super::help::OTHER_VARIABLES;
use super::Cli;
use crate::config::VARIABLES;

/// The manual page of the command, in roff (`man -l` reads it).
pub fn man_page() -> io::Result<Vec<u8>> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let man = Man::new(cmd.clone()).manual("snapshot-share-detector manual");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    out.extend_from_slice(b".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        subcommand(&mut out, sub)?;
    }
    let mut env = Roff::default();
    env.control("SH", ["ENVIRONMENT"]);
    env.text([roman(
        "The configuration, the same for the Lambda function and scan (docs/configuration.md):",
    )]);
    variables(&mut env, VARIABLES);
    env.control("PP", []);
    env.text([roman("Also read:")]);
    variables(&mut env, OTHER_VARIABLES);
    env.to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// One tagged paragraph a variable: its name, then what it does.
fn variables(roff: &mut Roff, list: &[(&str, &str)]) {
    for (name, help) in list {
        roff.control("TP", []);
        roff.text([bold(*name)]);
        roff.text([roman(*help)]);
    }
}

/// A subcommand as a subsection of COMMANDS: its synopsis, description and options, which
/// clap_mangen writes as sections of a page of their own, made subsections here.
fn subcommand(out: &mut Vec<u8>, sub: &Command) -> io::Result<()> {
    let man = Man::new(sub.clone());
    let mut page = Vec::new();
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut page)?;
    }
    let page = String::from_utf8_lossy(&page);
    for line in page.lines() {
        match line.strip_prefix(".SH ") {
            Some("SYNOPSIS") => {
                out.extend_from_slice(format!(".SS {}\n", sub.get_name()).as_bytes())
            }
            Some(_) => out.extend_from_slice(b".PP\n"),
            None => {
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        }
    }
    Ok(())
}
