//! The command line: `scan` evaluates CloudTrail data offline, with the same reader, rule and
//! findings as the Lambda function.

use std::fs::File;
use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::pipeline::Pipeline;
use crate::reader::Progress;
use crate::sink::Output;
use crate::source::{ListRequest, ObjectRef, ObjectStore, S3Store, S3Url};
use crate::tally::Tally;

mod inputs;
mod progress;

use inputs::{inputs, Input};
use progress::{human_bytes, show_progress};

#[derive(Debug, Parser)]
#[command(
    name = "snapshot-share-detector",
    version,
    about = "Detects EBS snapshots shared with another AWS account or made public (MITRE ATT&CK T1537).",
    long_about = "Detects EBS snapshots shared with another AWS account or made public (MITRE \
                  ATT&CK T1537).\n\nWith no command inside AWS Lambda (AWS_LAMBDA_RUNTIME_API \
                  set), runs as the Lambda function. Configuration comes from the environment: \
                  FINDINGS_TOPIC_ARN, TRUSTED_ACCOUNT_IDS, MAX_OBJECT_BYTES, MAX_RECORD_BYTES (see \
                  the README)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan CloudTrail data offline; print each finding as one JSON line on stdout.
    ///
    /// Accepts, detected by content: CloudTrail log files ({"Records":[...]}), bare records,
    /// EventBridge events, JSON arrays of records and JSON Lines, each gzip-compressed or not.
    /// Exit status: 0 when every input was read, 2 when any could not be read or parsed,
    /// 1 when a finding could not be published (--publish).
    Scan(ScanArgs),
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
    if args.publish && config.topic_arn.is_none() {
        eprintln!("error: --publish needs FINDINGS_TOPIC_ARN");
        return ExitCode::from(2);
    }
    let needs_s3 = inputs.iter().any(|i| matches!(i, Ok(Input::S3(_))));
    let needs_sdk = needs_s3 || args.publish || config.organization.is_some();
    let sdk = match needs_sdk {
        true => Some(crate::aws::sdk_config(&config.clients).await),
        false => None,
    };
    let (s3, output) = match &sdk {
        Some(sdk) => {
            let (s3, sns) = crate::aws::clients_from(sdk, &config.clients);
            // The back-fill honours the idempotency store (DEDUP_TABLE), so that it does not
            // alert again on what real time sent.
            let sns = args.publish.then_some(sns);
            let s3 = needs_s3.then(|| S3Store::new(s3));
            (s3, config.output(sdk, sns, true))
        }
        None => (None, Output::new(None, true)),
    };
    let started = Instant::now();
    let scanner = Scanner {
        pipeline: Pipeline::new(output, s3, config.settings),
        progress: !args.quiet && io::stderr().is_terminal(),
        totals: Tally::default(),
    };
    let totals = scanner.run(inputs).await;
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
        eprintln!(
            "scanned {} inputs ({}): {} records{foreign}, {} findings{published}, {} errors in {:.2}s",
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

/// Scans inputs one after the other, keeping the totals.
struct Scanner<T> {
    pipeline: Pipeline<Output, T>,
    /// Whether to show a progress line on stderr.
    progress: bool,
    totals: Tally,
}

impl<T: ObjectStore> Scanner<T> {
    async fn run(mut self, inputs: Vec<io::Result<Input>>) -> Tally {
        for input in inputs {
            match input {
                Err(e) => self.failed(e),
                Ok(Input::Stdin) => {
                    self.read(io::stdin(), "stdin".to_owned(), "-".to_owned())
                        .await
                }
                Ok(Input::File(path)) => {
                    let name = path.display().to_string();
                    match File::open(&path) {
                        Ok(file) => self.read(file, name.clone(), name).await,
                        Err(e) => self.failed(format!("{name}: {e}")),
                    }
                }
                Ok(Input::S3(S3Url::Object(object))) => self.object(object).await,
                Ok(Input::S3(S3Url::Prefix { bucket, prefix })) => {
                    self.prefix(bucket, prefix).await
                }
            }
        }
        self.totals
    }

    /// Every object under `prefix`, a listing page at a time.
    async fn prefix(&mut self, bucket: String, prefix: String) {
        let mut request = ListRequest {
            bucket,
            prefix,
            ..ListRequest::default()
        };
        loop {
            let Some(store) = self.pipeline.store() else {
                return;
            };
            let page = match store.list(&request).await {
                Ok(page) => page,
                Err(e) => return self.failed(e),
            };
            for object in page.objects {
                self.object(object).await;
            }
            match page.next {
                Some(next) => request.continuation = Some(next),
                None => return,
            }
        }
    }

    async fn object(&mut self, object: ObjectRef) {
        let tally = self.pipeline.object(&object, None).await;
        for error in &tally.errors {
            eprintln!("error: {error}");
        }
        self.totals.add(tally);
    }

    /// Reads one input; `name` is for messages, `origin` for findings.
    async fn read<R: std::io::Read + Send + 'static>(
        &mut self,
        input: R,
        name: String,
        origin: String,
    ) {
        let progress = self.progress.then(|| Arc::new(Progress::default()));
        let ticker = progress
            .clone()
            .map(|p| tokio::spawn(show_progress(name.clone(), p)));
        let tally = self.pipeline.stream(input, &name, origin, progress).await;
        if let Some(ticker) = ticker {
            ticker.abort();
            eprint!("\r\x1b[2K");
        }
        for error in &tally.errors {
            eprintln!("error: {error}");
        }
        self.totals.add(tally);
    }

    fn failed(&mut self, error: impl std::fmt::Display) {
        self.totals.objects += 1;
        self.totals.input_errors += 1;
        self.totals.error(error.to_string());
        eprintln!("error: {error}");
    }
}
