//! The command line: `scan` evaluates CloudTrail data offline, with the same reader, rule and
//! findings as the Lambda function.

use std::fs::File;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::pipeline::Pipeline;
use crate::reader::Progress;
use crate::sink::{Sink, SnsSink, Stdout, Tee};
use crate::source::{ObjectRef, S3Source};

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

/// One input to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    Stdin,
    File(PathBuf),
    S3(ObjectRef),
    /// `s3://bucket/prefix/`: every object under the prefix.
    S3Prefix {
        bucket: String,
        prefix: String,
    },
}

/// Totals over all inputs.
#[derive(Debug, Default)]
struct Totals {
    inputs: usize,
    bytes: u64,
    records: u64,
    findings: u64,
    published: usize,
    input_errors: usize,
    undelivered: usize,
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
    let needs_s3 = inputs
        .iter()
        .any(|i| matches!(i, Ok(Input::S3(_) | Input::S3Prefix { .. })));
    let clients = if needs_s3 || args.publish {
        Some(crate::aws::clients(&config).await)
    } else {
        None
    };
    let (s3, sns) = match clients {
        Some((s3, sns)) => (Some(S3Source::new(s3)), Some(sns)),
        None => (None, None),
    };
    let started = Instant::now();
    let progress = !args.quiet && io::stderr().is_terminal();
    let totals = match (args.publish, sns, config.topic_arn.clone()) {
        (true, Some(sns), Some(arn)) => {
            let sink = Tee(Stdout, SnsSink::new(sns, arn));
            Scanner::new(Pipeline::new(sink, config.settings), s3.as_ref(), progress)
                .run(inputs)
                .await
        }
        (true, _, _) => {
            eprintln!("error: --publish needs FINDINGS_TOPIC_ARN");
            return ExitCode::from(2);
        }
        (false, _, _) => {
            Scanner::new(
                Pipeline::new(Stdout, config.settings),
                s3.as_ref(),
                progress,
            )
            .run(inputs)
            .await
        }
    };
    if !args.quiet {
        let published = if args.publish {
            format!(", {} published", totals.published)
        } else {
            String::new()
        };
        eprintln!(
            "scanned {} inputs ({}): {} records, {} findings{published}, {} errors in {:.2}s",
            totals.inputs,
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
struct Scanner<'a, S> {
    pipeline: Pipeline<S>,
    s3: Option<&'a S3Source>,
    /// Whether to show a progress line on stderr.
    progress: bool,
    totals: Totals,
}

impl<'a, S: Sink> Scanner<'a, S> {
    fn new(pipeline: Pipeline<S>, s3: Option<&'a S3Source>, progress: bool) -> Self {
        Scanner {
            pipeline,
            s3,
            progress,
            totals: Totals::default(),
        }
    }

    async fn run(mut self, inputs: Vec<io::Result<Input>>) -> Totals {
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
                Ok(Input::S3(object)) => self.object(object).await,
                Ok(Input::S3Prefix { bucket, prefix }) => {
                    let Some(source) = self.s3 else { continue };
                    match source.list(&bucket, &prefix).await {
                        Ok(objects) => {
                            for object in objects {
                                match object.skip_reason() {
                                    Some(reason) => {
                                        tracing::info!(object = %object, "skipped: {reason}")
                                    }
                                    None => self.object(object).await,
                                }
                            }
                        }
                        Err(e) => self.failed(e),
                    }
                }
            }
        }
        self.totals
    }

    async fn object(&mut self, object: ObjectRef) {
        let Some(source) = self.s3 else { return };
        match source.open(&object).await {
            Ok(opened) => {
                let name = opened.object.to_string();
                self.read(opened.body, name, opened.object.url()).await;
            }
            Err(e) => self.failed(e),
        }
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
        let outcome = self.pipeline.stream(input, origin, progress).await;
        if let Some(ticker) = ticker {
            ticker.abort();
            eprint!("\r\x1b[2K");
        }
        let totals = &mut self.totals;
        totals.inputs += 1;
        totals.bytes += outcome.scan.bytes;
        totals.records += outcome.scan.records;
        totals.findings += outcome.scan.findings;
        totals.published += outcome.published;
        totals.undelivered += outcome.undelivered();
        if !outcome.scan.is_clean() {
            totals.input_errors += 1;
        }
        if let Some(error) = outcome.error_summary() {
            eprintln!("error: {name}: {error}");
        }
    }

    fn failed(&mut self, error: impl std::fmt::Display) {
        self.totals.inputs += 1;
        self.totals.input_errors += 1;
        eprintln!("error: {error}");
    }
}

/// Redraws one status line on stderr (a terminal) until aborted.
async fn show_progress(name: String, progress: Arc<Progress>) {
    let started = Instant::now();
    let short: String = {
        let chars: Vec<char> = name.chars().collect();
        let skip = chars.len().saturating_sub(48);
        let tail: String = chars[skip..].iter().collect();
        if skip > 0 {
            format!("…{tail}")
        } else {
            tail
        }
    };
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let bytes = progress.bytes.load(Ordering::Relaxed);
        let seconds = started.elapsed().as_secs_f64().max(0.001);
        eprint!(
            "\r\x1b[2K{short}: {} ({}/s), {} records, {} findings",
            human_bytes(bytes),
            human_bytes((bytes as f64 / seconds) as u64),
            progress.records.load(Ordering::Relaxed),
            progress.findings.load(Ordering::Relaxed),
        );
    }
}

/// Expands the command-line paths, in order; directories become their files, sorted.
fn inputs(paths: &[String]) -> Vec<io::Result<Input>> {
    if paths.is_empty() {
        return vec![Ok(Input::Stdin)];
    }
    let mut out = Vec::new();
    for path in paths {
        if path == "-" {
            out.push(Ok(Input::Stdin));
        } else if let Some(rest) = path.strip_prefix("s3://") {
            out.push(parse_s3(rest).ok_or_else(|| {
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

fn parse_s3(rest: &str) -> Option<Input> {
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    Some(if key.is_empty() || key.ends_with('/') {
        Input::S3Prefix {
            bucket: bucket.to_owned(),
            prefix: key.to_owned(),
        }
    } else {
        Input::S3(ObjectRef::new(bucket, key))
    })
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

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls() {
        assert_eq!(
            parse_s3("trail/AWSLogs/1/x.json.gz"),
            Some(Input::S3(ObjectRef::new("trail", "AWSLogs/1/x.json.gz")))
        );
        assert_eq!(
            parse_s3("trail/AWSLogs/"),
            Some(Input::S3Prefix {
                bucket: "trail".into(),
                prefix: "AWSLogs/".into()
            })
        );
        assert_eq!(
            parse_s3("trail"),
            Some(Input::S3Prefix {
                bucket: "trail".into(),
                prefix: String::new()
            })
        );
        assert_eq!(parse_s3("/key"), None);
    }

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

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
