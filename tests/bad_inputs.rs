//! Malformed inputs, one table row per (file, way in): every file in `tests/fixtures/bad/`
//! (written by its `make.py`, described in its `README.md`) must give exactly the outcome its
//! row states — a clear error naming what is wrong, a skip with a reason, or an exact set of
//! findings — and never a panic. Each row runs under `catch_unwind`; all failures are collected
//! into one message that names the file of each failing row.
//!
//! Two ways in, no network:
//! - `reader`: the bytes go through `reader::scan` (what the Lambda does with an S3 object and
//!   what `scan` does with a local file);
//! - `lambda`: the file is the invocation payload, through `trigger::classify` (for the skip
//!   reasons) and `Handler::handle` with the in-memory sink and no S3 client.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use serde_json::Value;
use snapshot_share_detector::config::Settings;
use snapshot_share_detector::finding::{Finding, MAX_FIELD_BYTES};
use snapshot_share_detector::lambda::{Handler, Response};
use snapshot_share_detector::pipeline::Pipeline;
use snapshot_share_detector::reader::{scan, Limits, ScanOptions};
use snapshot_share_detector::rule::TrustedAccounts;
use snapshot_share_detector::sink::Memory;
use snapshot_share_detector::source::MemoryStore;
use snapshot_share_detector::trigger::{self, Work};

const DIR: &str = "tests/fixtures/bad";

/// The target of the good share record (the Stratus detonation record).
const GOOD: &str = "098797384747";

const MIB: u64 = 1 << 20;

/// A check applied to every finding of a row.
type FindingCheck = fn(&Finding) -> Result<(), String>;

#[derive(Debug, Clone, Copy)]
enum Via {
    Reader(Limits),
    Lambda,
}

#[derive(Debug, Clone)]
enum Findings {
    /// Exactly these targets (`userId` of each finding), in this order.
    Targets(&'static [&'static str]),
    /// This many findings, all for distinct targets.
    Distinct(u64),
}

/// One input and what it must give.
struct Row {
    file: &'static str,
    via: Via,
    /// Reader: records (slices) read.
    records: Option<u64>,
    /// Reader: the error that stopped reading must contain all of these; `None`: no such error.
    fatal: Option<&'static [&'static str]>,
    /// Reader: how many record errors, and substrings of their messages (joined).
    errors: u64,
    error_text: &'static [&'static str],
    /// Reader: decompressed bytes read must be at most this.
    max_bytes: Option<u64>,
    /// Lambda: the envelope's name.
    trigger: Option<&'static str>,
    /// Lambda: one substring per skip reason, in order (and no other skip).
    skips: &'static [&'static str],
    findings: Findings,
    /// Checked on every finding.
    each: Option<FindingCheck>,
}

fn reader(file: &'static str) -> Row {
    Row {
        file,
        via: Via::Reader(Limits::default()),
        records: None,
        fatal: None,
        errors: 0,
        error_text: &[],
        max_bytes: None,
        trigger: None,
        skips: &[],
        findings: Findings::Targets(&[]),
        each: None,
    }
}

fn lambda(file: &'static str) -> Row {
    Row {
        via: Via::Lambda,
        ..reader(file)
    }
}

impl Row {
    fn limits(mut self, limits: Limits) -> Self {
        self.via = Via::Reader(limits);
        self
    }
    fn records(mut self, n: u64) -> Self {
        self.records = Some(n);
        self
    }
    fn fatal(mut self, text: &'static [&'static str]) -> Self {
        self.fatal = Some(text);
        self
    }
    fn errors(mut self, n: u64, text: &'static [&'static str]) -> Self {
        self.errors = n;
        self.error_text = text;
        self
    }
    fn max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = Some(n);
        self
    }
    fn trigger(mut self, name: &'static str) -> Self {
        self.trigger = Some(name);
        self
    }
    fn skips(mut self, reasons: &'static [&'static str]) -> Self {
        self.skips = reasons;
        self
    }
    fn targets(mut self, targets: &'static [&'static str]) -> Self {
        self.findings = Findings::Targets(targets);
        self
    }
    fn distinct(mut self, n: u64) -> Self {
        self.findings = Findings::Distinct(n);
        self
    }
    fn each(mut self, check: FindingCheck) -> Self {
        self.each = Some(check);
        self
    }

    fn label(&self) -> String {
        let via = match self.via {
            Via::Reader(l) if l == Limits::default() => "reader".to_owned(),
            Via::Reader(l) => format!(
                "reader, MAX_OBJECT_BYTES {} MAX_RECORD_BYTES {}",
                l.max_object_bytes, l.max_record_bytes
            ),
            Via::Lambda => "lambda".to_owned(),
        };
        format!("{} [{via}]", self.file)
    }
}

/// What a row's input actually gave.
#[derive(Debug, Default)]
struct Actual {
    records: u64,
    bytes: u64,
    fatal: Option<String>,
    error_count: u64,
    errors: Vec<String>,
    trigger: Option<&'static str>,
    skips: Vec<String>,
    findings_reported: u64,
    targets: Vec<String>,
    each_failure: Option<String>,
}

fn run_reader(bytes: &[u8], limits: Limits, each: Option<FindingCheck>) -> Actual {
    let trusted = TrustedAccounts::default();
    let opts = ScanOptions {
        trusted: &trusted,
        limits,
        origin: Some("bad-input"),
        progress: None,
    };
    let mut actual = Actual::default();
    let report = scan(bytes, &opts, &mut |f| {
        if let (Some(check), None) = (each, &actual.each_failure) {
            actual.each_failure = check(&f).err();
        }
        actual.targets.push(f.user_id);
    });
    actual.records = report.records;
    actual.bytes = report.bytes;
    actual.fatal = report.fatal.as_ref().map(ToString::to_string);
    actual.error_count = report.error_count;
    actual.errors = report.errors.iter().map(ToString::to_string).collect();
    actual.findings_reported = report.findings;
    actual
}

fn run_lambda(bytes: &[u8], each: Option<FindingCheck>) -> Result<Actual, String> {
    let payload: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JSON payload: {e}"))?;
    let invocation = trigger::classify(payload.clone());
    let mut actual = Actual {
        trigger: Some(invocation.trigger.as_str()),
        skips: invocation
            .units
            .iter()
            .flat_map(|u| &u.work)
            .filter_map(|w| match w {
                Work::Skip(why) => Some(why.clone()),
                _ => None,
            })
            .collect(),
        ..Actual::default()
    };
    let pipeline = Pipeline::new(Memory::default(), None::<MemoryStore>, Settings::default());
    let handler = Handler::new(pipeline, 4);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (response, summary) = runtime.block_on(handler.handle(payload));
    let findings = handler.pipeline().sink().take();
    let mut problems = Vec::new();
    let tally = &summary.tally;
    // A unit's errors are the row's errors: a row states how many it expects.
    actual.error_count = tally.error_count;
    actual.errors = tally.errors.iter().map(ToString::to_string).collect();
    match &response {
        Ok(Response::Batch(batch)) => {
            if batch.batch_item_failures.len() != summary.failed_units {
                problems.push(format!(
                    "{} failed units but batchItemFailures is {batch:?}",
                    summary.failed_units
                ));
            }
        }
        Ok(Response::Summary(_)) if summary.failed_units > 0 => {
            problems.push("failed units, yet the invocation succeeded".to_owned())
        }
        Ok(Response::Summary(_) | Response::S3Batch(_)) => {}
        Ok(Response::Audit(_)) => problems.push("an audit answer to a trigger".to_owned()),
        Err(e) if tally.errors.is_empty() => problems.push(format!("invocation failed: {e}")),
        Err(_) => {}
    }
    if tally.skipped != actual.skips.len() as u64 {
        problems.push(format!(
            "summary.skipped {} but classify gave {} skips",
            tally.skipped,
            actual.skips.len()
        ));
    }
    if tally.published != findings.len() as u64 {
        problems.push(format!(
            "published {} but the sink holds {}",
            tally.published,
            findings.len()
        ));
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    actual.findings_reported = tally.findings;
    for f in &findings {
        if let (Some(check), None) = (each, &actual.each_failure) {
            actual.each_failure = check(f).err();
        }
    }
    actual.targets = findings.into_iter().map(|f| f.user_id).collect();
    Ok(actual)
}

/// Runs one row: `Ok` describes what the input gave, `Err` also says what differed from the
/// row.
fn check(row: &Row) -> Result<String, String> {
    let bytes = std::fs::read(format!("{DIR}/{}", row.file)).map_err(|e| e.to_string())?;
    let actual = match row.via {
        Via::Reader(limits) => run_reader(&bytes, limits, row.each),
        Via::Lambda => run_lambda(&bytes, row.each)?,
    };
    let mut wrong = Vec::new();
    if let Some(n) = row.records {
        if actual.records != n {
            wrong.push(format!("records: want {n}"));
        }
    }
    match (row.fatal, &actual.fatal) {
        (None, None) => {}
        (None, Some(_)) => wrong.push("an unexpected fatal error".to_owned()),
        (Some(_), None) => wrong.push("no fatal error".to_owned()),
        (Some(want), Some(got)) => {
            for w in want {
                if !got.contains(w) {
                    wrong.push(format!("fatal error lacks {w:?}"));
                }
            }
        }
    }
    if actual.error_count != row.errors {
        wrong.push(format!("record errors: want {}", row.errors));
    }
    let joined = actual.errors.join("; ");
    for w in row.error_text {
        if !joined.contains(w) {
            wrong.push(format!("record errors lack {w:?}"));
        }
    }
    if let Some(max) = row.max_bytes {
        if actual.bytes > max {
            wrong.push(format!("read {} bytes, more than {max}", actual.bytes));
        }
    }
    if row.trigger.is_some() && actual.trigger != row.trigger {
        wrong.push(format!("trigger: want {:?}", row.trigger));
    }
    let skips_match = actual.skips.len() == row.skips.len()
        && actual
            .skips
            .iter()
            .zip(row.skips)
            .all(|(got, want)| got.contains(want));
    if !skips_match {
        wrong.push(format!("skips: want {:?}", row.skips));
    }
    if actual.findings_reported != actual.targets.len() as u64 {
        wrong.push(format!(
            "the report counts {} findings but {} were emitted",
            actual.findings_reported,
            actual.targets.len()
        ));
    }
    match &row.findings {
        Findings::Targets(want) => {
            if actual.targets != *want {
                wrong.push(format!("targets: want {want:?}"));
            }
        }
        Findings::Distinct(n) => {
            let distinct: BTreeSet<&String> = actual.targets.iter().collect();
            if actual.targets.len() as u64 != *n || distinct.len() as u64 != *n {
                wrong.push(format!(
                    "want {n} findings for distinct targets, got {} ({} distinct)",
                    actual.targets.len(),
                    distinct.len()
                ));
            }
        }
    }
    if let Some(why) = &actual.each_failure {
        wrong.push(format!("a finding: {why}"));
    }
    let mut targets = actual.targets.clone();
    if targets.len() > 6 {
        let n = targets.len();
        targets.truncate(6);
        targets.push(format!("… {n} in all"));
    }
    let got = format!(
        "records {}, bytes {}, fatal {:?}, {} record errors {:?}, trigger {:?}, skips {:?}, \
         targets {:?}",
        actual.records,
        actual.bytes,
        actual.fatal,
        actual.error_count,
        actual.errors,
        actual.trigger,
        actual.skips,
        targets
    );
    if wrong.is_empty() {
        Ok(got)
    } else {
        Err(format!("{}\n      got: {got}", wrong.join("; ")))
    }
}

fn user_agent_is_clipped(f: &Finding) -> Result<(), String> {
    let ua = f.user_agent.as_ref().map_or("", |u| u.original.as_str());
    if f.user_agent.is_none() || ua.len() > MAX_FIELD_BYTES {
        return Err(format!("userAgent of {} bytes", ua.len()));
    }
    Ok(())
}

fn is_the_good_share(f: &Finding) -> Result<(), String> {
    if f.resource.id.as_deref() != Some("snap-041993b54a9b3af6f") {
        return Err(format!("snapshot {:?}", f.resource.id));
    }
    Ok(())
}

/// Every row. Messages are asserted by substring: what is wrong, and where (record index,
/// byte offset) whenever the reader knows it.
fn rows() -> Vec<Row> {
    let bomb_limits = Limits {
        max_object_bytes: 64 * MIB,
        ..Limits::default()
    };
    let big_records = Limits {
        max_record_bytes: 16 << 20,
        ..Limits::default()
    };
    let header_eof =
        &["read failed after 0 decompressed bytes: gzip stream ends before its member does (truncated?)"];
    let trailer_eof = &[
        "read failed after 930555 decompressed bytes: gzip stream ends before its member does (truncated?)",
    ];
    let bad_crc = &["read failed after 64075 decompressed bytes: corrupt gzip data: deflate decompression error: incorrect data check"];
    let bad_isize = &["read failed after 64075 decompressed bytes: corrupt gzip data: deflate decompression error: incorrect length check"];
    let not_json = &["record 1 (byte 0): invalid JSON: expected a value"];
    vec![
        // --- gzip, truncated ----------------------------------------------------------------
        reader("gzip-truncated-magic-only.gz").records(0).fatal(header_eof),
        reader("gzip-truncated-in-header.gz").records(0).fatal(header_eof),
        reader("gzip-truncated-after-header.gz")
            .records(0)
            .fatal(&["read failed after 0 decompressed bytes: gzip stream ends before its member does (truncated?)"]),
        reader("gzip-truncated-mid-deflate.json.gz")
            .records(1485)
            .fatal(&["read failed after 460424 decompressed bytes: gzip stream ends before its member does (truncated?)"])
            .targets(&[GOOD]),
        reader("gzip-truncated-before-trailer.json.gz")
            .records(3002)
            .fatal(trailer_eof)
            .targets(&[GOOD, GOOD]),
        reader("gzip-truncated-mid-trailer.json.gz")
            .records(3002)
            .fatal(trailer_eof)
            .targets(&[GOOD, GOOD]),
        // --- gzip, corrupt -----------------------------------------------------------------
        reader("gzip-flipped-deflate-bytes.json.gz")
            .records(91)
            .fatal(&["record 92: invalid JSON at byte 29124: expected ',' or '}' after an object member"])
            .targets(&[GOOD]),
        reader("gzip-flipped-deflate-block-header.json.gz")
            .records(0)
            .fatal(&["read failed after 0 decompressed bytes: corrupt gzip data: deflate decompression error: invalid code lengths set"]),
        reader("gzip-bad-crc.json.gz")
            .records(202)
            .fatal(bad_crc)
            .targets(&[GOOD, GOOD]),
        reader("gzip-bad-isize.json.gz")
            .records(202)
            .fatal(bad_isize)
            .targets(&[GOOD, GOOD]),
        reader("gzip-bad-header-method.gz").records(0).fatal(&[
            "read failed after 0 decompressed bytes: corrupt gzip data: deflate decompression error: unknown compression method",
        ]),
        reader("gzip-bad-header-reserved-flags.gz").records(0).fatal(&[
            "read failed after 0 decompressed bytes: corrupt gzip data: deflate decompression error: unknown header flags set",
        ]),
        reader("gzip-bad-header-unterminated-name.gz").records(0).fatal(header_eof),
        reader("gzip-trailing-garbage.json.gz")
            .records(1)
            .fatal(&["read failed after 1112 decompressed bytes: corrupt gzip data: deflate decompression error: incorrect header check"])
            .targets(&[GOOD]),
        reader("gzip-double-compressed.json.gz.gz")
            .records(1)
            .errors(1, not_json),
        reader("gzip-empty.gz").records(0),
        reader("gzip-bomb-1GiB-spaces.json.gz")
            .limits(bomb_limits)
            .records(0)
            .fatal(&[
                "decompressed size exceeds the limit of 67108864 bytes (MAX_OBJECT_BYTES)",
                "stopped after",
            ])
            // One read past the cap at most.
            .max_bytes(64 * MIB + (256 << 10)),
        // --- not JSON ----------------------------------------------------------------------
        reader("not-json-text.txt").records(1).errors(1, not_json),
        reader("not-json-binary-garbage.bin")
            .records(1)
            .errors(1, not_json),
        reader("not-json-html-error-page.html")
            .records(1)
            .errors(1, not_json),
        reader("not-json-s3-error.xml")
            .records(1)
            .errors(1, not_json),
        reader("not-json-nul-bytes.bin")
            .records(1)
            .errors(1, not_json),
        reader("nul-in-string-log.json")
            .records(1)
            .fatal(&[
                "record 2: invalid JSON at byte 1952: control character in string",
            ])
            .targets(&[GOOD]),
        reader("nul-line-between-json-lines.jsonl")
            .records(3)
            .errors(1, &["record 2 (byte 1099): invalid JSON: expected a value"])
            .targets(&[GOOD, GOOD]),
        // --- empty and trivial ---------------------------------------------------------------
        reader("empty.json").records(0),
        reader("whitespace-only.json").records(0),
        // An object with none of a CloudTrail record's keys is not CloudTrail: an error, not a
        // clean read of nothing.
        reader("empty-object.json")
            .records(1)
            .errors(1, &["record 1 (byte 0): not CloudTrail: an object with none of the keys"]),
        reader("empty-array.json").records(0),
        reader("records-empty-array.json").records(0),
        lambda("records-empty-array.json")
            .trigger("unrecognised")
            .skips(&["a \"Records\" payload that is neither SQS, SNS, S3 nor CloudTrail"]),
        // --- wrong shape at the top ------------------------------------------------------------
        reader("records-is-object.json").records(1),
        lambda("records-is-object.json")
            .trigger("unrecognised")
            .skips(&["unrecognised payload (keys: Records)"]),
        reader("records-is-string.json").records(1),
        reader("records-is-null.json").records(1),
        reader("records-is-number.json").records(1),
        reader("records-items-not-objects.json")
            .records(6)
            .errors(
                5,
                &[
                    "record 1 (byte 12): not a CloudTrail record (a JSON number, not an object)",
                    "record 2 (byte 14): not a CloudTrail record (a JSON string",
                    "record 3 (byte 40): not a CloudTrail record (a JSON null",
                    "record 4 (byte 45): not a CloudTrail record (a JSON boolean",
                    "record 5 (byte 50): not a CloudTrail record (a JSON array",
                ],
            )
            .targets(&[GOOD]),
        // One odd item does not hide the records beside it.
        lambda("records-items-not-objects.json")
            .trigger("cloudtrail-records")
            .targets(&[GOOD]),
        // --- wrong shape inside a share record (reader and Lambda agree) -------------------------
        reader("request-parameters-null.json").records(1),
        lambda("request-parameters-null.json").trigger("cloudtrail-records"),
        // Parameters that cannot be read are a record error naming the record, not a silent
        // "no finding".
        reader("request-parameters-string-not-json.json")
            .records(1)
            .errors(1, &["record 1 (byte 12): requestParameters is a string that is not JSON"]),
        lambda("request-parameters-string-not-json.json").errors(
            1,
            &["record (eventID 6897ff63-d738-445c-9e86-43e5b1f8e12f): requestParameters is a \
               string that is not JSON"],
        ),
        reader("request-parameters-array.json").records(1),
        lambda("request-parameters-array.json"),
        reader("create-volume-permission-null.json").records(1),
        lambda("create-volume-permission-null.json"),
        reader("add-is-string.json").records(1),
        lambda("add-is-string.json"),
        reader("add-is-array.json").records(1),
        lambda("add-is-array.json"),
        reader("items-is-object.json").records(1).targets(&[GOOD]),
        lambda("items-is-object.json").targets(&[GOOD]),
        reader("items-is-string.json").records(1),
        lambda("items-is-string.json"),
        reader("userid-number.json").records(1),
        lambda("userid-number.json"),
        reader("userid-object.json").records(1),
        lambda("userid-object.json"),
        reader("userid-null.json").records(1),
        lambda("userid-null.json"),
        reader("userid-empty-string.json").records(1),
        lambda("userid-empty-string.json"),
        reader("group-number.json").records(1),
        lambda("group-number.json"),
        reader("items-mixed-bad-and-good.json")
            .records(1)
            .targets(&[GOOD]),
        lambda("items-mixed-bad-and-good.json").targets(&[GOOD]),
        // --- big ------------------------------------------------------------------------------
        reader("useragent-10MB.json.gz")
            .records(3)
            .errors(
                1,
                &[
                    "record 2 (byte 1111): record of 10486805 bytes",
                    "exceeds MAX_RECORD_BYTES (8388608)",
                ],
            )
            .targets(&[GOOD, GOOD]),
        reader("useragent-10MB.json.gz")
            .limits(big_records)
            .records(3)
            .targets(&[GOOD, GOOD, GOOD])
            .each(user_agent_is_clipped),
        reader("items-500-distinct-foreign.json")
            .records(1)
            .distinct(500)
            .each(is_the_good_share),
        lambda("items-500-distinct-foreign.json")
            .trigger("cloudtrail-records")
            .distinct(500)
            .each(is_the_good_share),
        reader("items-100k.json.gz").records(1).distinct(100_001),
        reader("deep-nesting-100k-arrays.json.gz")
            .records(0)
            .fatal(&["record 1: invalid JSON at byte 1025: nesting too deep"]),
        reader("deep-nesting-100k-in-record.json.gz")
            .records(1)
            .fatal(&["record 2: invalid JSON at byte 2176: nesting too deep"])
            .targets(&[GOOD]),
        reader("deep-nesting-200-in-record.json")
            .records(3)
            .errors(
                1,
                &["record 2 (byte 1111): invalid JSON: recursion limit exceeded"],
            )
            .targets(&[GOOD, GOOD]),
        // --- encodings --------------------------------------------------------------------------
        reader("invalid-utf8-in-string.json")
            .records(3)
            .errors(1, &["record 2 (byte 1111): invalid UTF-8 at byte 834 of the record"])
            .targets(&[GOOD, GOOD]),
        reader("lone-surrogate-escape.json")
            .records(3)
            .errors(
                1,
                &["record 2 (byte 1111): invalid JSON: unexpected end of hex escape"],
            )
            .targets(&[GOOD, GOOD]),
        reader("escaped-event-name.json")
            .records(1)
            .targets(&[GOOD]),
        lambda("escaped-event-name.json").targets(&[GOOD]),
        reader("bom-utf8-log.json").records(1).targets(&[GOOD]),
        reader("bom-utf8-log.json.gz").records(1).targets(&[GOOD]),
        reader("bom-utf8-twice.json")
            .records(1)
            .errors(1, &["record 1 (byte 3): invalid JSON: expected a value"]),
        reader("utf16le-bom-log.json")
            .records(1)
            .errors(1, not_json),
        reader("utf16be-log.json").records(1).errors(1, not_json),
        // --- duplicate keys: serde_json keeps the last; the splitter streams the first Records ---
        reader("duplicate-eventname.json")
            .records(2)
            .targets(&["222222222222"]),
        lambda("duplicate-eventname.json")
            .trigger("cloudtrail-records")
            .targets(&["222222222222"]),
        reader("duplicate-userid.json").records(1).targets(&[GOOD]),
        lambda("duplicate-userid.json").targets(&[GOOD]),
        // The reader reads every `Records` array; a parser (the Lambda's direct payload) keeps
        // the last.
        reader("duplicate-records-key.json")
            .records(2)
            .targets(&["111111111111", "222222222222"]),
        lambda("duplicate-records-key.json")
            .trigger("cloudtrail-records")
            .targets(&["222222222222"]),
        reader("duplicate-records-key-empty-first.json")
            .records(1)
            .targets(&[GOOD]),
        lambda("duplicate-records-key-empty-first.json")
            .trigger("cloudtrail-records")
            .targets(&[GOOD]),
        // --- JSON Lines and concatenation ---------------------------------------------------------
        reader("jsonl-one-bad-line.jsonl")
            .records(3)
            .errors(
                1,
                &["record 2 (byte 1139): invalid JSON: expected ',' or '}' after an object member"],
            )
            .targets(&[GOOD, GOOD]),
        reader("jsonl-truncated-line.jsonl")
            .records(3)
            .errors(1, &["record 2 (byte 1648): invalid JSON: control character in string"])
            .targets(&[GOOD, GOOD]),
        reader("jsonl-text-lines.jsonl")
            .records(3)
            .errors(1, &["record 2 (byte 1099): invalid JSON: expected a value"])
            .targets(&[GOOD, GOOD]),
        reader("jsonl-bad-array-line.jsonl")
            .records(2)
            .errors(
                1,
                &["record 2 (byte 1100): not a CloudTrail record (a JSON number, not an object)"],
            )
            .fatal(&["record 3: invalid JSON at byte 1102: expected ',' or ']' after an array element"])
            .targets(&[GOOD]),
        reader("concatenated-second-truncated.json")
            .records(2)
            .fatal(&["record 3: invalid JSON at byte 3223: unexpected end of input inside a string (truncated?)"])
            .targets(&[GOOD, GOOD]),
        reader("plain-truncated-log.json")
            .records(1)
            .fatal(&[
                "record 2: invalid JSON at byte 1298: unexpected end of input inside a string (truncated?)",
            ])
            .targets(&[GOOD]),
        // --- Lambda payloads ------------------------------------------------------------------------
        // An organization trail's log group: the payload decodes to the records it carries.
        lambda("envelope-cloudwatch-logs-subscription.json")
            .trigger("cloudwatch-logs")
            .targets(&["098797384747"]),
        lambda("envelope-random-object.json")
            .trigger("unrecognised")
            .skips(&["unrecognised payload (keys: hello, list, n)"]),
        lambda("envelope-json-array.json")
            .trigger("unrecognised")
            .skips(&["payload is a JSON array, not an object"]),
        reader("envelope-json-array.json")
            .records(1)
            .targets(&[GOOD]),
        lambda("envelope-json-string.json")
            .trigger("unrecognised")
            .skips(&["payload is a JSON string, not an object"]),
        lambda("envelope-sqs-non-json-body.json")
            .trigger("sqs")
            .skips(&["SQS message body is not JSON: \"not json {\""])
            .targets(&[GOOD, GOOD]),
        lambda("envelope-sqs-body-not-string.json")
            .trigger("sqs")
            .skips(&["SQS message without a string body"])
            .targets(&[GOOD]),
        lambda("envelope-sns-non-json-message.json")
            .trigger("sns")
            .skips(&[
                "SNS message is not JSON: \"plain text\"",
                "SNS record without a Message",
            ])
            .targets(&[GOOD]),
        lambda("envelope-eventbridge-detail-null.json")
            .trigger("unrecognised")
            .skips(&["EventBridge \"AWS API Call via CloudTrail\" event without a detail object"]),
        lambda("envelope-eventbridge-detail-string.json")
            .trigger("unrecognised")
            .skips(&["EventBridge \"AWS API Call via CloudTrail\" event without a detail object"]),
        lambda("envelope-records-mixed.json")
            .trigger("cloudtrail-records")
            .targets(&[GOOD, GOOD]),
        reader("envelope-records-mixed.json")
            .records(3)
            .targets(&[GOOD, GOOD]),
        lambda("envelope-sqs-sns-nested-too-deep.json")
            .trigger("sqs")
            .skips(&["envelopes nested too deep"]),
        // --- the team corpus' malformed files ---------------------------------------------------------
        reader("corpus-cloudtrail2sightings-ec2-user-data.INVALID.json")
            .records(1)
            .fatal(&[
                "record 2: invalid JSON at byte 3327: expected ',' or ']' after an array element",
            ]),
        reader("corpus-eventbridge-ebs-snapshot-notification.INVALID.json")
            .records(1)
            .errors(1, &["record 1 (byte 493): invalid JSON: number with a leading zero"]),
    ]
}

#[test]
fn every_bad_input_gives_its_stated_outcome() {
    let rows = rows();
    let mut failures = String::new();
    let mut failed = 0;
    let started = Instant::now();
    // BAD_INPUTS_SHOW=1 prints what every row gave, also when it passes.
    let show = std::env::var_os("BAD_INPUTS_SHOW").is_some();
    for row in &rows {
        let at = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(row)));
        let took = at.elapsed();
        let problem = match outcome {
            Ok(Ok(got)) => {
                if show {
                    eprintln!("      got: {got}");
                }
                None
            }
            Ok(Err(why)) => Some(why),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".to_owned());
                Some(format!("PANICKED: {message}"))
            }
        };
        eprintln!(
            "{:>7.1} ms  {}  {}",
            took.as_secs_f64() * 1000.0,
            if problem.is_some() { "FAIL" } else { "ok  " },
            row.label()
        );
        if let Some(why) = problem {
            failed += 1;
            let _ = writeln!(failures, "  {}: {why}", row.label());
        }
    }
    eprintln!("{} rows in {:?}", rows.len(), started.elapsed());
    assert!(
        failed == 0,
        "{failed} of {} rows failed:\n{failures}",
        rows.len()
    );
}

#[test]
fn every_file_has_a_row_and_a_readme_line() {
    let rows = rows();
    let readme = std::fs::read_to_string(format!("{DIR}/README.md")).unwrap();
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(DIR).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name != "make.py" && name != "README.md" {
            files.insert(name);
        }
    }
    let mut problems = Vec::new();
    for file in &files {
        if !rows.iter().any(|r| r.file == file) {
            problems.push(format!("{file}: no row in tests/bad_inputs.rs"));
        }
        if !readme.contains(&format!("| `{file}` |")) {
            problems.push(format!("{file}: not in README.md"));
        }
    }
    for row in &rows {
        if !files.contains(row.file) {
            problems.push(format!("{}: row for a file that does not exist", row.file));
        }
    }
    assert!(files.len() >= 40, "only {} inputs", files.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
