//! The command line: `scan` evaluates CloudTrail data offline, with the same reader, rule and
//! findings as the Lambda function.

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::pipeline::Pipeline;
use crate::source::S3Store;
use crate::tally::Tally;

mod audit;
mod help;
mod inputs;
pub mod layout;
mod man;
mod output;
mod progress;
mod scanner;

pub use audit::{audit, AuditArgs};
pub use help::OTHER_VARIABLES;
pub use man::man_page;
pub use output::{Color, Format};

use inputs::{inputs, Input};
use layout::{Day, Filters};
use progress::human_bytes;
use scanner::Scanner;

/// `--version`: the package's version and the commit it was built from (see `build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BUILD_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "snapshot-share-detector",
    version = VERSION,
    about = "Detects EBS snapshots shared with another AWS account or made public (MITRE ATT&CK T1537).",
    long_about = "Detects EBS snapshots shared with another AWS account or made public (MITRE \
                  ATT&CK T1537).\n\nWith no command inside AWS Lambda (AWS_LAMBDA_RUNTIME_API \
                  set), runs as the Lambda function. Configuration comes from the environment, \
                  the same for the function and scan: the variables below, and \
                  docs/configuration.md.",
    after_help = help::SHORT,
    after_long_help = help::environment(),
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan CloudTrail data offline; print each finding on stdout.
    ///
    /// Accepts, detected by content: CloudTrail log files ({"Records":[...]}), bare records,
    /// EventBridge events, JSON arrays of records and JSON Lines, each gzip-compressed or not.
    /// Exit status: 0 when every input was read, 2 when any could not be read or parsed,
    /// 1 when a finding could not be published (--publish).
    ///
    /// On a terminal each finding is a short block of text for people; piped or redirected,
    /// one JSON object a line (JSON Lines) for programs. --format chooses.
    #[command(after_help = help::SHORT, after_long_help = help::environment())]
    Scan(ScanArgs),
    /// Audit what each account owns that is shared outside it now; print each exposure.
    ///
    /// For each account and region: EBS snapshots and their createVolumePermission, AMIs and
    /// their launchPermission, RDS DB and cluster snapshots and their restore attribute, and
    /// the region's block public access states. One finding per (resource, foreign target),
    /// in the shape of the rules' findings. Exit status: 0 when every account and region was
    /// read, 2 when any could not be (each is named), 1 when a finding could not be published.
    #[command(after_help = help::SHORT, after_long_help = help::environment())]
    Audit(AuditArgs),
    /// Print the completion script of a shell on stdout
    ///
    /// Install it where the shell looks for it, for example:
    ///   bash  snapshot-share-detector completions bash \
    ///           > ~/.local/share/bash-completion/completions/snapshot-share-detector
    ///   zsh   snapshot-share-detector completions zsh > ~/.zfunc/_snapshot-share-detector
    ///         (with fpath+=(~/.zfunc) before compinit in ~/.zshrc)
    ///   fish  snapshot-share-detector completions fish \
    ///           > ~/.config/fish/completions/snapshot-share-detector.fish
    #[command(verbatim_doc_comment)]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout
    ///
    /// Read it, or install it where man looks for it:
    ///   snapshot-share-detector man | man -l -
    ///   mkdir -p ~/.local/share/man/man1
    ///   snapshot-share-detector man > ~/.local/share/man/man1/snapshot-share-detector.1
    #[command(verbatim_doc_comment)]
    Man,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files, directories (read recursively, in sorted order), s3://BUCKET/KEY or
    /// s3://BUCKET/PREFIX/; none or - reads stdin.
    pub paths: Vec<String>,
    /// Also publish the findings to the SNS topic in FINDINGS_TOPIC_ARN (back-filling).
    #[arg(long)]
    pub publish: bool,
    /// Do not print the summary line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// S3 requests at once under an s3:// prefix: objects read and prefixes listed, together.
    /// Findings are still printed in key order.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=512))]
    pub concurrency: u16,
    /// Under an s3:// prefix, only log files of this day or later (YYYY-MM-DD, the day in the
    /// key, UTC). Prefixes of earlier days are not listed.
    #[arg(long, value_parser = Day::parse)]
    pub since: Option<Day>,
    /// Under an s3:// prefix, only log files of this day or earlier (YYYY-MM-DD).
    #[arg(long, value_parser = Day::parse)]
    pub until: Option<Day>,
    /// Under an s3:// prefix, only these accounts (repeat, or separate with commas).
    #[arg(long = "account", value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Under an s3:// prefix, only these regions (repeat, or separate with commas).
    #[arg(long = "region", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Instead of scanning, write the S3 Batch Operations CSV manifest (bucket,key) of the
    /// log files under the s3:// prefixes and filters to FILE (- for stdout).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<String>,
    /// How findings are printed [default: text on a terminal, json otherwise]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// When text is coloured: auto is on a terminal, unless NO_COLOR is set or TERM is dumb.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = Color::Auto)]
    pub color: Color,
}

impl ScanArgs {
    fn filters(&self) -> Filters {
        Filters {
            since: self.since,
            until: self.until,
            accounts: self.accounts.iter().map(|a| a.trim().to_owned()).collect(),
            regions: self.regions.iter().map(|r| r.trim().to_owned()).collect(),
        }
    }
}

/// Runs `scan`; returns the process exit status.
pub async fn scan(args: ScanArgs) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for odd in config.settings.trusted.suspicious() {
        eprintln!("warning: TRUSTED_ACCOUNT_IDS entry {odd:?} is not a 12-digit account id");
    }
    let inputs = inputs(&args.paths);
    if args.publish && !config.outputs.delivers() {
        eprintln!("error: --publish needs FINDINGS_TOPIC_ARN or SECURITY_HUB=true");
        return ExitCode::from(2);
    }
    let needs_s3 = inputs.iter().any(|i| matches!(i, Ok(Input::S3(_))));
    // A back-fill meets S3's throttling (SlowDown) at high concurrency: back off and try
    // again, more patiently than a Lambda invocation would.
    let mut config = config;
    config.clients.retry_attempts = Some(10);
    let sdk = match needs_s3 || config.outputs.need_aws(args.publish) {
        true => Some(crate::aws::sdk_config(&config.clients).await),
        false => None,
    };
    // The back-fill honours the idempotency store (DEDUP_TABLE), so that it does not alert
    // again on what real time sent.
    let output = crate::sink::build(
        &config.outputs,
        sdk.as_ref(),
        &config.clients,
        args.publish,
        true,
        output::lines(
            args.format,
            args.color,
            io::stdout().is_terminal(),
            |name| std::env::var_os(name),
        ),
    );
    let s3 = match (&sdk, needs_s3) {
        (Some(sdk), true) => Some(S3Store::new(crate::aws::s3_from(sdk, &config.clients))),
        _ => None,
    };
    let started = Instant::now();
    let scanner = Scanner {
        pipeline: Pipeline::new(output, s3, config.settings),
        progress: !args.quiet && io::stderr().is_terminal(),
        concurrency: usize::from(args.concurrency),
        filters: args.filters(),
        manifest: args.manifest.clone(),
        totals: Tally::default(),
        pruned: 0,
    };
    let (totals, pruned) = scanner.run(inputs).await;
    if !args.quiet {
        let mut published = if args.publish {
            format!(", {} published", totals.published)
        } else {
            String::new()
        };
        if totals.duplicates > 0 {
            published.push_str(&format!(", {} already published", totals.duplicates));
        }
        if totals.suppressed > 0 {
            published.push_str(&format!(
                ", {} inside the organization suppressed",
                totals.suppressed
            ));
        }
        let foreign = match totals.not_cloudtrail {
            0 => String::new(),
            n => format!(", {n} not CloudTrail"),
        };
        let pruned = match pruned {
            0 => String::new(),
            n => format!(" ({n} prefixes skipped by the filters, unlisted)"),
        };
        eprintln!(
            "scanned {} inputs{pruned} ({}): {} records{foreign}, {} findings{published}, {} errors in {:.2}s",
            totals.objects,
            human_bytes(totals.bytes),
            totals.records,
            totals.findings,
            totals.input_errors + totals.undelivered,
            started.elapsed().as_secs_f64(),
        );
    }
    if totals.input_errors > 0 {
        ExitCode::from(2)
    } else if totals.undelivered > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
