//! Generated CloudTrail log files for the reader's property tests: every shape (`Records`
//! objects, arrays, lines), `\u` escapes and odd blanks anywhere, gzip in one or more members;
//! with what the reader must report of each, and the reader run on them in reads of given
//! sizes.

use std::io::{self, Read};

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};
use snapshot_share_detector::cloudtrail::Record;
use snapshot_share_detector::finding::Finding;
use snapshot_share_detector::reader::{self, Limits, ScanOptions, ScanReport, MAX_KEPT_ERRORS};
use snapshot_share_detector::rule::{self, TrustedAccounts};

use super::cases::*;
use super::gzip::gzip_level;
use super::prng::Prng;

/// How a file is written: escapes and whitespace, chosen per character from a seed.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub seed: u64,
    /// 0: plain; 1: some letters of the event name as `\u` escapes; 2: also non-ASCII and
    /// one character in 8; 3: one character in 2, `/` as `\/` too.
    pub escapes: u8,
    /// 0: compact; 1: one space; 2: random runs of blanks, tabs and line ends.
    pub blanks: u8,
}

pub struct Writer {
    pub rng: Prng,
    pub style: Style,
    pub out: String,
}

impl Writer {
    fn new(style: Style) -> Self {
        Writer {
            rng: Prng::new(style.seed),
            style,
            out: String::new(),
        }
    }

    fn blank(&mut self) {
        match self.style.blanks {
            0 => {}
            1 => self.out.push(' '),
            _ => {
                let n = self.rng.next_u64() % 4;
                for _ in 0..n {
                    let c = [' ', '\t', '\n', '\r'][(self.rng.next_u64() % 4) as usize];
                    self.out.push(c);
                }
            }
        }
    }

    fn escape(&mut self, c: char) {
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            if self.rng.one_in(2) {
                self.out.push_str(&format!("\\u{unit:04X}"));
            } else {
                self.out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }

    fn string(&mut self, text: &str) {
        self.out.push('"');
        let name_here = text.contains("ModifySnapshotAttribute");
        for c in text.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' if self.rng.one_in(2) => self.out.push_str("\\n"),
                '\t' if self.rng.one_in(2) => self.out.push_str("\\t"),
                c if (c as u32) < 0x20 => self.escape(c),
                '/' if self.style.escapes >= 3 && self.rng.one_in(2) => self.out.push_str("\\/"),
                c => {
                    let escape = match self.style.escapes {
                        0 => false,
                        1 => name_here && c.is_ascii_alphabetic() && self.rng.one_in(6),
                        2 => !c.is_ascii() || self.rng.one_in(8),
                        _ => self.rng.one_in(2),
                    };
                    if escape {
                        self.escape(c)
                    } else {
                        self.out.push(c)
                    }
                }
            }
        }
        self.out.push('"');
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Object(map) => {
                self.out.push('{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.blank();
                    self.string(k);
                    self.blank();
                    self.out.push(':');
                    self.blank();
                    self.value(v);
                    self.blank();
                }
                self.out.push('}');
            }
            Value::Array(items) => {
                self.out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.blank();
                    self.value(v);
                    self.blank();
                }
                self.out.push(']');
            }
            Value::String(text) => self.string(text),
            other => self.out.push_str(&other.to_string()),
        }
    }

    /// `v` as its own string.
    fn text(&mut self, v: &Value) -> String {
        let start = self.out.len();
        self.value(v);
        self.out.split_off(start)
    }
}

/// A top-level value of a file.
#[derive(Debug, Clone)]
pub enum Chunk {
    /// `{"Records": [...]}`; `escaped_key`: the key written with a `\u` escape (the splitter
    /// then sees one big record, which the reader must still read through); `trailer`: another
    /// member after `Records`.
    LogFile {
        records: Vec<Case>,
        escaped_key: bool,
        trailer: bool,
    },
    /// `[...]`.
    Array(Vec<Case>),
    /// A bare record or EventBridge event (JSON Lines, concatenated).
    Bare(Case),
}

#[derive(Debug, Clone)]
pub struct FileSpec {
    pub chunks: Vec<Chunk>,
    /// Between top-level values.
    pub separator: &'static str,
    pub bom: bool,
    pub style: Style,
    pub gzip: Option<GzipSpec>,
    pub trusted: (String, Vec<String>),
    /// Sizes of the reads the reader gets (cycled); empty: all at once.
    pub reads: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct GzipSpec {
    pub level: u32,
    /// Where the plain text is cut into gzip members, as fractions of its length (‰).
    pub cuts: Vec<u16>,
}

/// A record as the reader should see it: an EventBridge event when the case has an envelope.
pub fn wrapped(c: &Case) -> Value {
    match &c.envelope {
        None => c.record.clone(),
        Some(account) => json!({
            "version": "0",
            "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.ec2",
            "account": account,
            "time": "2024-08-01T12:28:02Z",
            "region": "us-east-1",
            "resources": [],
            "detail": c.record,
        }),
    }
}

pub fn chunk() -> impl Strategy<Value = Chunk> {
    let records = prop::collection::vec(any_case(), 0..6);
    prop_oneof![
        4 => (prop::collection::vec(any_case(), 0..6), prop::bool::weighted(0.15), any::<bool>()).prop_map(
            |(records, escaped_key, trailer)| Chunk::LogFile { records, escaped_key, trailer }
        ),
        2 => records.prop_map(Chunk::Array),
        3 => any_case().prop_map(Chunk::Bare),
    ]
}

pub fn file_spec() -> impl Strategy<Value = FileSpec> {
    let style = (any::<u64>(), 0..4u8, 0..3u8).prop_map(|(seed, escapes, blanks)| Style {
        seed,
        escapes,
        blanks,
    });
    let gzip = prop::option::weighted(
        0.5,
        (0..10u32, prop::collection::vec(0..=1000u16, 0..4))
            .prop_map(|(level, cuts)| GzipSpec { level, cuts }),
    );
    let reads = prop_oneof![
        1 => Just(vec![]),
        2 => prop::collection::vec(1..64usize, 1..8),
        1 => prop::collection::vec(1..4096usize, 1..4),
    ];
    (
        prop::collection::vec(chunk(), 0..5),
        select(vec!["", "\n", "\r\n", " ", "\n\n\t"]),
        prop::bool::weighted(0.2),
        style,
        gzip,
        trusted(),
        reads,
    )
        .prop_map(
            |(chunks, separator, bom, style, gzip, trusted, reads)| FileSpec {
                chunks,
                separator,
                bom,
                style,
                gzip,
                trusted,
                reads,
            },
        )
}

/// A generated file: its bytes and what the reader must report.
pub struct Built {
    pub bytes: Vec<u8>,
    /// The decompressed text.
    pub text: Vec<u8>,
    /// Each record slice the splitter should cut, with its length and its findings.
    pub slices: Vec<(usize, Vec<String>)>,
    /// Slices holding a record whose parameters cannot be read (a string that is not JSON):
    /// each is one record error, its findings are still given.
    pub unreadable: u64,
}

pub const ORIGIN: &str = "s3://bucket/AWSLogs/111122223333/CloudTrail/us-east-1/prop.json.gz";

/// The findings of one record, evaluated directly, and whether a rule could not read it.
pub fn direct_findings(c: &Case, trusted: &TrustedAccounts) -> (Vec<String>, bool) {
    let view = Record::new(&c.record).unwrap();
    let detected = rule::evaluate_record(&view, c.envelope.as_deref(), trusted, Some(ORIGIN));
    let findings = detected.findings.iter().map(Finding::to_json).collect();
    (findings, !detected.problems.is_empty())
}

pub fn build(spec: &FileSpec) -> Built {
    let trusted = TrustedAccounts::parse(&spec.trusted.0);
    let mut w = Writer::new(spec.style);
    let mut text = String::new();
    let mut slices = Vec::new();
    let mut unreadable = 0;
    if spec.bom {
        text.push('\u{FEFF}');
    }
    for (i, chunk) in spec.chunks.iter().enumerate() {
        if i > 0 {
            text.push_str(spec.separator);
        }
        match chunk {
            Chunk::LogFile {
                records,
                escaped_key,
                trailer,
            } => {
                let key = if *escaped_key {
                    "R\\u0065cords"
                } else {
                    "Records"
                };
                let mut body = Vec::new();
                let mut all = Vec::new();
                let mut any_unreadable = false;
                for c in records {
                    let t = w.text(&wrapped(c));
                    let (found, problem) = direct_findings(c, &trusted);
                    all.extend(found.iter().cloned());
                    any_unreadable |= problem;
                    body.push((t, found, problem));
                }
                let joined = body
                    .iter()
                    .map(|(t, _, _)| t.as_str())
                    .collect::<Vec<_>>()
                    .join(",\n");
                let tail = if *trailer { ",\"x\":\"]}{\"" } else { "" };
                let file = format!("{{\"{key}\": [{joined}]{tail}}}");
                if *escaped_key {
                    slices.push((file.len(), all));
                    unreadable += u64::from(any_unreadable);
                } else {
                    for (t, f, problem) in body {
                        slices.push((t.len(), f));
                        unreadable += u64::from(problem);
                    }
                }
                text.push_str(&file);
            }
            Chunk::Array(records) => {
                let mut parts = Vec::new();
                for c in records {
                    let t = w.text(&wrapped(c));
                    let (found, problem) = direct_findings(c, &trusted);
                    slices.push((t.len(), found));
                    unreadable += u64::from(problem);
                    parts.push(t);
                }
                text.push_str(&format!("[{}]", parts.join(" ,")));
            }
            Chunk::Bare(c) => {
                let t = w.text(&wrapped(c));
                let (found, problem) = direct_findings(c, &trusted);
                slices.push((t.len(), found));
                unreadable += u64::from(problem);
                text.push_str(&t);
            }
        }
    }
    let text = text.into_bytes();
    Built {
        bytes: encode(&text, spec.gzip.as_ref()),
        text,
        slices,
        unreadable,
    }
}

/// `text` as the file holds it: plain, or gzip in one or more members.
pub fn encode(text: &[u8], gzip_spec: Option<&GzipSpec>) -> Vec<u8> {
    let Some(g) = gzip_spec else {
        return text.to_vec();
    };
    let mut cuts: Vec<usize> = g
        .cuts
        .iter()
        .map(|&c| text.len() * c as usize / 1000)
        .collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([text.len()]) {
        out.extend(gzip_level(&text[from..cut], g.level));
        from = cut;
    }
    out
}

/// Hands out the input in reads of the given sizes (cycled).
pub struct Reads<'a> {
    pub data: &'a [u8],
    pub sizes: &'a [usize],
    pub next: usize,
}

impl Read for Reads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = if self.sizes.is_empty() {
            buf.len()
        } else {
            self.next += 1;
            self.sizes[(self.next - 1) % self.sizes.len()]
        };
        let n = want.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

pub fn scan(
    bytes: &[u8],
    reads: &[usize],
    trusted: &str,
    limits: Limits,
) -> (Vec<String>, ScanReport) {
    let trusted = TrustedAccounts::parse(trusted);
    let opts = ScanOptions {
        trusted: &trusted,
        limits,
        origin: Some(ORIGIN),
        progress: None,
    };
    let input = Reads {
        data: bytes,
        sizes: reads,
        next: 0,
    };
    let mut out = Vec::new();
    let report = reader::scan(input, &opts, &mut |f: Finding| out.push(f.to_json()));
    (out, report)
}

/// What holds of every report, whatever the input.
pub fn check_report(
    input: &[u8],
    findings: &[String],
    report: &ScanReport,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(report.findings, findings.len() as u64);
    prop_assert_eq!(
        report.errors.len() as u64,
        report.error_count.min(MAX_KEPT_ERRORS as u64)
    );
    prop_assert!(report.candidates <= report.records);
    prop_assert!(report.error_count <= report.records);
    let gz = input.starts_with(&[0x1f, 0x8b]);
    prop_assert_eq!(report.compressed, gz);
    if !gz {
        prop_assert!(report.bytes <= input.len() as u64);
        if report.fatal.is_none() {
            prop_assert_eq!(report.bytes, input.len() as u64);
        }
    }
    prop_assert_eq!(report.is_clean(), report.error_summary().is_none());
    for e in &report.errors {
        prop_assert!(e.index >= 1 && e.index <= report.records, "{}", e);
        prop_assert!(e.offset <= report.bytes, "{}", e);
    }
    for f in findings {
        let v: Value = serde_json::from_str(f).unwrap();
        prop_assert!(
            v["userId"].is_string() && v["finding_id"].is_string(),
            "{}",
            f
        );
    }
    Ok(())
}

/// Is `small` a subsequence of `big`?
pub fn subsequence(small: &[String], big: &[String]) -> bool {
    let mut it = big.iter();
    small.iter().all(|s| it.any(|b| b == s))
}
