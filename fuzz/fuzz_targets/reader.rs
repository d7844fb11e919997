//! The reader on arbitrary bytes, as a log file: plain or gzip, and, when the first byte is
//! even, the same bytes wrapped in gzip (two members), so that inflate-then-split is fuzzed
//! with JSON-shaped text and not only with corrupt deflate streams.
//!
//! Checked on every input: no panic; the report's counts agree with each other and with the
//! findings emitted; when the whole input is valid JSON (a full `serde_json` parse succeeds),
//! the reader reports no syntax error, and a clean read gives exactly the findings of that
//! full parse (the oracle of tests/support/oracle.rs; except for a log file that repeats
//! `Records` or is also an EventBridge event, where the two differ by design); a second read,
//! a few bytes at a time with a tiny MAX_RECORD_BYTES, gives a subsequence of the first
//! read's findings.
#![no_main]

use std::io::{self, Read, Write};

use flate2::write::GzEncoder;
use flate2::Compression;
use libfuzzer_sys::fuzz_target;
use snapshot_share_detector::finding::Finding;
use snapshot_share_detector::reader::{
    self, Limits, RecordErrorKind, ScanOptions, ScanReport, MAX_KEPT_ERRORS,
};
use snapshot_share_detector::rule::TrustedAccounts;

/// The full-parse oracle, the very file the tests use (one copy).
#[path = "../../tests/support/oracle.rs"]
mod oracle;

/// Enough for any input libFuzzer makes (even inflated), small enough that a bomb stops.
const MAX_OBJECT_BYTES: u64 = 64 << 20;
const ORIGIN: &str = "fuzz.json";
const TRUSTED: &str = "444455556666";

/// Hands out the input `size` bytes at a time.
struct Reads<'a> {
    data: &'a [u8],
    size: usize,
}

impl Read for Reads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn scan(bytes: &[u8], size: usize, max_record_bytes: usize) -> (Vec<String>, ScanReport) {
    let trusted = TrustedAccounts::parse(TRUSTED);
    let opts = ScanOptions {
        trusted: &trusted,
        limits: Limits {
            max_object_bytes: MAX_OBJECT_BYTES,
            max_record_bytes,
        },
        origin: Some(ORIGIN),
        progress: None,
    };
    let mut out = Vec::new();
    let input = Reads { data: bytes, size };
    let report = reader::scan(input, &opts, &mut |f: Finding| out.push(f.to_json()));
    (out, report)
}

/// What holds of every report.
fn check(input: &[u8], findings: &[String], report: &ScanReport) {
    assert_eq!(report.findings, findings.len() as u64, "findings count");
    assert_eq!(
        report.errors.len() as u64,
        report.error_count.min(MAX_KEPT_ERRORS as u64),
        "kept errors"
    );
    assert!(report.candidates <= report.records, "candidates > records");
    assert!(report.error_count <= report.records, "errors > records");
    let gz = input.starts_with(&[0x1f, 0x8b]);
    assert_eq!(report.compressed, gz, "compressed flag");
    if !gz {
        assert!(
            report.bytes <= input.len() as u64,
            "read more than the input"
        );
        if report.fatal.is_none() {
            assert_eq!(report.bytes, input.len() as u64, "clean read stopped early");
        }
    }
    assert_eq!(report.is_clean(), report.error_summary().is_none());
    for e in &report.errors {
        assert!(e.index >= 1 && e.index <= report.records, "{e}");
        assert!(e.offset <= report.bytes, "{e}");
    }
}

fn subsequence(small: &[String], big: &[String]) -> bool {
    let mut it = big.iter();
    small.iter().all(|s| it.any(|b| b == s))
}

fn run(bytes: &[u8], size: usize) {
    let (got, report) = scan(bytes, usize::MAX, Limits::default().max_record_bytes);
    check(bytes, &got, &report);
    let trusted = TrustedAccounts::parse(TRUSTED);
    let oracle = oracle::full_parse(bytes, &trusted, Some(ORIGIN), MAX_OBJECT_BYTES);
    if let Some(oracle::FullParse {
        findings: want,
        ambiguous,
    }) = oracle
    {
        assert!(
            report.fatal.is_none(),
            "valid JSON, yet fatal: {:?}",
            report.fatal
        );
        for e in &report.errors {
            assert!(
                matches!(
                    e.kind,
                    RecordErrorKind::NotAnObject(_) | RecordErrorKind::TooLarge { .. }
                ),
                "valid JSON, yet {e}"
            );
        }
        if report.is_clean() && !ambiguous {
            assert_eq!(got, want, "the reader and a full parse disagree");
        }
    }
    // A few bytes at a time, records over 64 bytes dropped: resumption and dropping.
    let (small, small_report) = scan(bytes, size, 64);
    check(bytes, &small, &small_report);
    // Also on corrupt gzip: what inflates before the fault comes out whatever the read size
    // (fuzz/regressions/reader/ holds the input that showed it did not).
    assert!(
        subsequence(&small, &got),
        "small reads found what a whole read did not"
    );
}

fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fuzz_target!(|data: &[u8]| {
    let size = data.last().map_or(1, |&b| b as usize % 61 + 1);
    run(data, size);
    if data.first().is_some_and(|b| b % 2 == 0) {
        // Two gzip members, cut where the second byte says.
        let cut = data.get(1).map_or(0, |&b| data.len() * b as usize / 255);
        // Stored blocks, fast, default: every kind of block; the higher levels cost time and
        // inflate no differently.
        let level = data.get(2).map_or(1, |&b| [0, 1, 6][usize::from(b % 3)]);
        let mut gz = gzip(&data[..cut], level);
        gz.extend(gzip(&data[cut..], level));
        run(&gz, size);
    }
});
