//! Reads CloudTrail data from a byte stream and evaluates each record as it is decoded.
//!
//! The input is gzip (detected by its magic bytes, any number of members) or plain JSON in any
//! of the shapes [`splitter`] knows. Memory stays flat whatever the size of the input:
//! the decompressed bytes pass through one buffer that holds at most the record being read,
//! and each record is dropped once evaluated.
//!
//! Most records cannot match: a record is parsed with `serde_json` only when the rule's
//! [`Prefilter`] says it could. The others are still checked, by the splitter, for valid JSON
//! and here for UTF-8 and for being objects, so that a corrupt file is reported whatever it
//! holds. What a parsed record yields is decided by [`rule::detect`] alone.

use std::io::{self, Read};
use std::sync::atomic::Ordering;

use serde_json::Value;

use crate::finding::Finding;
use crate::rule::{self, Prefilter, TrustedAccounts};
use crate::trigger::envelope;

mod decode;
mod gzip;
mod report;
pub mod splitter;

use decode::{read_ahead, Decoded};
pub use report::{
    Limits, Progress, ReadError, RecordError, RecordErrorKind, ScanReport, MAX_KEPT_ERRORS,
};
use splitter::{Splitter, Step};

/// Decompressed bytes read at a time, once an input has shown it is large.
const READ_SIZE: usize = 256 * 1024;
/// The first read's size: the buffer doubles from here up to [`READ_SIZE`], so that the many
/// small files of a bucket scan each cost a buffer of about their size, not of `2 * READ_SIZE`.
const FIRST_READ: usize = 16 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What the rule needs besides the records.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions<'a> {
    pub trusted: &'a TrustedAccounts,
    pub limits: Limits,
    /// The name of the input, copied into findings as `log.file.path`.
    pub origin: Option<&'a str>,
    /// Counters to update as the scan goes, for a progress display.
    pub progress: Option<&'a Progress>,
}

/// Reads `input` to the end (or to the first fatal error), calling `emit` with each finding as
/// soon as its record is decoded.
///
/// Gzip input larger than one chunk is inflated on a second thread (`decode::read_ahead`)
/// while this one splits and evaluates: the two halves of the work overlap, and a scan takes
/// about as long as inflating alone. A small input is inflated here.
pub fn scan<R: Read + Send>(
    input: R,
    opts: &ScanOptions<'_>,
    emit: &mut dyn FnMut(Finding),
) -> ScanReport {
    match Decoded::new(input) {
        Ok(Decoded::Gzip(gzip)) => read_ahead(gzip, |inflated| {
            let mut report = ScanReport {
                compressed: true,
                ..ScanReport::default()
            };
            scan_decoded(inflated, opts, emit, &mut report);
            report
        }),
        Ok(Decoded::Plain(plain)) => {
            let mut report = ScanReport::default();
            scan_decoded(plain, opts, emit, &mut report);
            report
        }
        Err(source) => ScanReport {
            fatal: Some(ReadError::Io { offset: 0, source }),
            ..ScanReport::default()
        },
    }
}

/// Splits decoded bytes into records and evaluates them, filling `report`.
fn scan_decoded<R: Read>(
    mut input: R,
    opts: &ScanOptions<'_>,
    emit: &mut dyn FnMut(Finding),
    report: &mut ScanReport,
) {
    let evaluator = Evaluator {
        opts,
        prefilter: Prefilter::default(),
    };
    let mut sp = Splitter::new();
    let mut buf = vec![0u8; FIRST_READ];
    let mut filled = 0;
    let mut eof = false;

    // Fill enough to see a byte-order mark before the splitter looks at anything.
    while filled < BOM.len() && !eof {
        match read_into(
            &mut input,
            &mut buf[filled..],
            report,
            opts.limits.max_object_bytes,
        ) {
            Ok(0) => eof = true,
            Ok(n) => filled += n,
            Err(e) => {
                report.fatal = Some(e);
                return;
            }
        }
    }
    if buf[..filled].starts_with(BOM) {
        sp.skip(BOM.len());
    }

    loop {
        match sp.next(&buf[..filled]) {
            Step::Record { start, end } => {
                report.records += 1;
                let offset = sp.stream_offset(start);
                evaluator.record(&buf[start..end], offset, report, emit);
            }
            Step::Dropped { len } => {
                report.records += 1;
                let offset = sp.offset() - len;
                let limit = opts.limits.max_record_bytes;
                let index = report.records;
                report.record_error(RecordError {
                    index,
                    offset,
                    kind: RecordErrorKind::TooLarge { len, limit },
                });
            }
            Step::Error(e) if e.recoverable => {
                report.records += 1;
                let index = report.records;
                report.record_error(RecordError {
                    index,
                    offset: e.offset,
                    kind: RecordErrorKind::Syntax(e),
                });
                sp.recover();
            }
            Step::Error(source) => {
                report.fatal = Some(ReadError::Syntax {
                    index: report.records + 1,
                    source,
                });
                return;
            }
            Step::NeedMore if eof => {
                match sp.finish(&buf[..filled]) {
                    Ok(Some(Step::Record { start, end })) => {
                        report.records += 1;
                        let offset = sp.stream_offset(start);
                        evaluator.record(&buf[start..end], offset, report, emit);
                    }
                    Ok(_) => {}
                    Err(source) => {
                        report.fatal = Some(ReadError::Syntax {
                            index: report.records + 1,
                            source,
                        })
                    }
                }
                return;
            }
            Step::NeedMore => {
                // Keep only the record being read, then make room and read on.
                let mut keep = sp.retain_from();
                if sp.kept_len().unwrap_or(0) > opts.limits.max_record_bytes {
                    sp.drop_record();
                    keep = sp.retain_from();
                }
                buf.copy_within(keep..filled, 0);
                filled -= keep;
                sp.discard(keep);
                let read_size = buf.len().clamp(FIRST_READ, READ_SIZE);
                if buf.len() - filled < read_size {
                    buf.resize(filled + read_size, 0);
                } else if buf.len() > 8 * READ_SIZE && filled < READ_SIZE {
                    // A large record passed; give the memory back.
                    buf.truncate(2 * READ_SIZE);
                    buf.shrink_to_fit();
                }
                if let Some(p) = opts.progress {
                    p.bytes.store(report.bytes, Ordering::Relaxed);
                    p.records.store(report.records, Ordering::Relaxed);
                    p.findings.store(report.findings, Ordering::Relaxed);
                }
                match read_into(
                    &mut input,
                    &mut buf[filled..],
                    report,
                    opts.limits.max_object_bytes,
                ) {
                    Ok(0) => eof = true,
                    Ok(n) => filled += n,
                    Err(e) => {
                        report.fatal = Some(e);
                        return;
                    }
                }
            }
        }
    }
}

/// One read, counted against the object limit.
fn read_into<R: Read>(
    input: &mut R,
    buf: &mut [u8],
    report: &mut ScanReport,
    limit: u64,
) -> Result<usize, ReadError> {
    loop {
        match input.read(buf) {
            Ok(n) => {
                report.bytes += n as u64;
                if report.bytes > limit {
                    return Err(ReadError::TooLarge {
                        limit,
                        read: report.bytes,
                    });
                }
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(ReadError::Io {
                    offset: report.bytes,
                    source,
                })
            }
        }
    }
}

struct Evaluator<'o, 'a> {
    opts: &'o ScanOptions<'a>,
    prefilter: Prefilter,
}

impl Evaluator<'_, '_> {
    /// Checks one record slice and, if it can match, parses and evaluates it.
    fn record(
        &self,
        bytes: &[u8],
        offset: u64,
        report: &mut ScanReport,
        emit: &mut dyn FnMut(Finding),
    ) {
        let index = report.records;
        let fail = |report: &mut ScanReport, kind| {
            report.record_error(RecordError {
                index,
                offset,
                kind,
            })
        };
        // Values other than objects are not records. The splitter checked the JSON grammar,
        // so the first byte tells the type.
        let kind = match bytes.first() {
            Some(b'{') => None,
            Some(b'[') => Some("array"),
            Some(b'"') => Some("string"),
            Some(b't' | b'f') => Some("boolean"),
            Some(b'n') => Some("null"),
            _ => Some("number"),
        };
        if let Some(kind) = kind {
            return fail(report, RecordErrorKind::NotAnObject(kind));
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => return fail(report, RecordErrorKind::Utf8(e.valid_up_to())),
        };
        let candidate = self.prefilter.may_match(bytes);
        // The first record of an input is parsed whatever it holds, to tell a CloudTrail input
        // from something else: another service's logs must not read as "nothing found". The
        // records the rule parses anyway are checked too; the others cost nothing more.
        let first = index == 1;
        if !candidate && !first {
            return;
        }
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) if candidate => return fail(report, RecordErrorKind::Json(e)),
            Err(_) => return,
        };
        if !envelope::looks_like_cloudtrail(&value) {
            report.not_cloudtrail += 1;
            return fail(report, RecordErrorKind::NotCloudTrail(keys(&value)));
        }
        if !candidate {
            return;
        }
        report.candidates += 1;
        let mut findings = 0;
        let mut unreadable = Vec::new();
        let mut problems = envelope::for_each_record(&value, &mut |record, account| {
            let detected =
                rule::evaluate_record(&record, account, self.opts.trusted, self.opts.origin);
            for finding in detected.findings {
                emit(finding);
                findings += 1;
            }
            unreadable.extend(detected.problems);
        });
        problems.append(&mut unreadable);
        report.findings += findings;
        if let Some(first) = problems.first() {
            let more = problems.len() - 1;
            let detail = match more {
                0 => first.clone(),
                _ => format!("{first} (and {more} more)"),
            };
            fail(report, RecordErrorKind::Container(detail));
        }
    }
}

/// The first keys of an object, for a message about what it is instead.
fn keys(value: &Value) -> String {
    let keys: Vec<&str> = value
        .as_object()
        .map(|m| m.keys().map(String::as_str).take(6).collect())
        .unwrap_or_default();
    keys.join(", ")
}
