//! Reads CloudTrail data from a byte stream and evaluates each record as it is decoded.
//!
//! The input is gzip (detected by its magic bytes, any number of members) or plain JSON in any
//! of the shapes [`crate::splitter`] knows. Memory stays flat whatever the size of the input:
//! the decompressed bytes pass through one buffer that holds at most the record being read,
//! and each record is dropped once evaluated.
//!
//! Most records cannot match: a record is parsed with `serde_json` only when its bytes contain
//! `ModifySnapshotAttribute` (or a `\u` escape of one of its letters, which could spell it).
//! The others are still checked, by the splitter, for valid JSON and here for UTF-8 and for
//! being objects, so that a corrupt file is reported whatever it holds.

use std::fmt;
use std::io::{self, BufReader, Cursor, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use memchr::memmem;
use serde_json::Value;

use crate::cloudtrail::{for_each_record, Record};
use crate::finding::Finding;
use crate::gzip::MultiGz;
use crate::rule::{self, TrustedAccounts, EVENT_NAME};
use crate::splitter::{Splitter, Step, SyntaxError};

/// Bounds that keep a hostile or broken input from exhausting memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most decompressed bytes read from one object (a decompression bomb stops here).
    pub max_object_bytes: u64,
    /// Largest record kept in memory; a larger one is skipped and reported.
    pub max_record_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_object_bytes: 2 << 30,
            max_record_bytes: 8 << 20,
        }
    }
}

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

/// Counters a scan updates after each read, for a progress display on another thread.
#[derive(Debug, Default)]
pub struct Progress {
    /// Decompressed bytes read.
    pub bytes: AtomicU64,
    pub records: AtomicU64,
    pub findings: AtomicU64,
}

/// Record-level errors kept in a report; more are counted, not kept.
pub const MAX_KEPT_ERRORS: usize = 20;

/// What one scan did.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Whether the input was gzip.
    pub compressed: bool,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// Record slices read (elements of `Records`, array elements, top-level values).
    pub records: u64,
    /// Records that mention `ModifySnapshotAttribute` and were parsed.
    pub candidates: u64,
    pub findings: u64,
    /// The first [`MAX_KEPT_ERRORS`] record-level errors; reading went on after each.
    pub errors: Vec<RecordError>,
    pub error_count: u64,
    /// The error that stopped reading, if any; findings before it were emitted.
    pub fatal: Option<ReadError>,
}

impl ScanReport {
    /// Whether every byte was read and every record understood.
    pub fn is_clean(&self) -> bool {
        self.fatal.is_none() && self.error_count == 0
    }

    /// A one-line description of the errors, if any.
    pub fn error_summary(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        if let Some(fatal) = &self.fatal {
            parts.push(fatal.to_string());
        }
        parts.extend(self.errors.iter().map(ToString::to_string));
        let hidden = self.error_count.saturating_sub(self.errors.len() as u64);
        if hidden > 0 {
            parts.push(format!("and {hidden} more record errors"));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    fn record_error(&mut self, error: RecordError) {
        self.error_count += 1;
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(error);
        }
    }
}

/// An error that stopped reading.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("read failed after {offset} decompressed bytes: {}", crate::one_line(.source))]
    Io { offset: u64, source: io::Error },
    #[error("record {index}: {source}")]
    Syntax { index: u64, source: SyntaxError },
    #[error(
        "decompressed size exceeds the limit of {limit} bytes (MAX_OBJECT_BYTES); \
         stopped after {read} bytes"
    )]
    TooLarge { limit: u64, read: u64 },
}

/// A record that could not be evaluated; reading went on after it.
#[derive(Debug)]
pub struct RecordError {
    /// 1-based position of the record in the input.
    pub index: u64,
    /// Stream offset (decompressed) of the record's first byte, or for a syntax error of the
    /// byte where the JSON went wrong.
    pub offset: u64,
    pub kind: RecordErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordErrorKind {
    #[error("invalid UTF-8 at byte {0} of the record")]
    Utf8(usize),
    #[error("invalid JSON: {}", .0.message)]
    Syntax(SyntaxError),
    #[error("invalid JSON: {0}")]
    Json(serde_json::Error),
    #[error("not a CloudTrail record (a JSON {0}, not an object)")]
    NotAnObject(&'static str),
    #[error("record of {len} bytes exceeds MAX_RECORD_BYTES ({limit}); it was not evaluated")]
    TooLarge { len: u64, limit: usize },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record {} (byte {}): {}",
            self.index, self.offset, self.kind
        )
    }
}

impl std::error::Error for RecordError {}

const READ_SIZE: usize = 256 * 1024;
/// Compressed bytes read at a time from the source.
const GZIP_INPUT: usize = 64 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `input` to the end (or to the first fatal error), calling `emit` with each finding as
/// soon as its record is decoded.
///
/// Gzip input is inflated on a second thread ([`read_ahead`]) while this one splits and
/// evaluates: the two halves of the work overlap, and a scan takes about as long as inflating
/// alone.
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
        needle: memmem::Finder::new(EVENT_NAME),
        escape: memmem::Finder::new(b"\\u"),
    };
    let mut sp = Splitter::new();
    let mut buf = vec![0u8; 2 * READ_SIZE];
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
                if buf.len() - filled < READ_SIZE {
                    buf.resize(filled + READ_SIZE, 0);
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
    needle: memmem::Finder<'static>,
    escape: memmem::Finder<'static>,
}

impl Evaluator<'_, '_> {
    /// Whether `bytes` hold a `\uXXXX` escape of a letter of [`EVENT_NAME`] (other escapes,
    /// such as the `\u003c` some JSON writers use for `<`, cannot spell it).
    fn escapes_a_letter(&self, bytes: &[u8]) -> bool {
        self.escape.find_iter(bytes).any(|at| {
            let hex = |i: usize| bytes.get(at + i).and_then(|&b| (b as char).to_digit(16));
            match (hex(2), hex(3), hex(4), hex(5)) {
                (Some(0), Some(0), Some(hi), Some(lo)) => {
                    EVENT_NAME.as_bytes().contains(&((hi * 16 + lo) as u8))
                }
                _ => false,
            }
        })
    }

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
        // A record whose bytes do not hold the event name cannot be a match, unless a
        // `\u` escape spells a letter of it: CloudTrail never writes one there, but a log file
        // is input, and the fast path must decide exactly as a full parse would.
        if self.needle.find(bytes).is_none() && !self.escapes_a_letter(bytes) {
            return;
        }
        report.candidates += 1;
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => return fail(report, RecordErrorKind::Json(e)),
        };
        let mut findings = 0;
        let not_objects = for_each_record(&value, &mut |record: Record<'_>, account| {
            let Some(share) = rule::evaluate(&record, account, self.opts.trusted) else {
                return;
            };
            for target in &share.targets {
                emit(Finding::new(&record, &share, target, self.opts.origin));
                findings += 1;
            }
        });
        report.findings += findings;
        if not_objects > 0 {
            fail(report, RecordErrorKind::NotAnObject("value inside Records"));
        }
    }
}

/// The input, inflated if it starts with the gzip magic bytes.
/// The input with the bytes read to detect its format put back in front.
type Sniffed<R> = io::Chain<Cursor<Vec<u8>>, R>;

enum Decoded<R: Read> {
    Gzip(Box<MultiGz<BufReader<Sniffed<R>>>>),
    Plain(Sniffed<R>),
}

impl<R: Read> Decoded<R> {
    fn new(mut input: R) -> io::Result<Self> {
        let mut magic = [0u8; 2];
        let mut n = 0;
        while n < magic.len() {
            match input.read(&mut magic[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let gzip = magic[..n] == [0x1f, 0x8b];
        let input = Cursor::new(magic[..n].to_vec()).chain(input);
        Ok(if gzip {
            Decoded::Gzip(Box::new(MultiGz::new(BufReader::with_capacity(
                GZIP_INPUT, input,
            ))))
        } else {
            Decoded::Plain(input)
        })
    }
}

/// Chunks inflated ahead of the splitter: enough to keep both threads busy, few enough that
/// memory stays flat (`AHEAD + 2` buffers of [`READ_SIZE`]).
const AHEAD: usize = 4;

/// Runs `f` with a reader of `input` that is filled by a second thread, so that producing the
/// bytes (inflating) and consuming them overlap. Buffers go back to the producer for reuse.
/// When `f` returns early the producer stops at its next chunk.
fn read_ahead<R: Read + Send, T>(mut input: R, f: impl FnOnce(&mut dyn Read) -> T) -> T {
    let (full_tx, full_rx) = sync_channel::<io::Result<Vec<u8>>>(AHEAD);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(AHEAD + 2);
    std::thread::scope(|scope| {
        scope.spawn(move || loop {
            let mut chunk = empty_rx.try_recv().unwrap_or_default();
            chunk.resize(READ_SIZE, 0);
            let mut n = 0;
            let mut error = None;
            while n < READ_SIZE {
                match input.read(&mut chunk[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            chunk.truncate(n);
            // The bytes before an error or the end go first; then the error, or an empty
            // chunk for the end.
            if n > 0 && full_tx.send(Ok(chunk)).is_err() {
                return;
            }
            if let Some(e) = error {
                let _ = full_tx.send(Err(e));
                return;
            }
            if n < READ_SIZE {
                let _ = full_tx.send(Ok(Vec::new()));
                return;
            }
        });
        let mut reader = ChannelReader {
            full: full_rx,
            empty: empty_tx,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        };
        f(&mut reader)
        // `reader` is dropped here, before the scope joins the producer: a producer blocked
        // on a full channel then sees it closed and ends.
    })
}

/// The consuming end of [`read_ahead`].
struct ChannelReader {
    full: Receiver<io::Result<Vec<u8>>>,
    empty: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            match self.full.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => self.done = true,
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.chunk, chunk);
                    let _ = self.empty.try_send(used);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("the inflating thread ended early"));
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
