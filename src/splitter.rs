//! A streaming, validating splitter that cuts JSON text into record slices.
//!
//! CloudTrail log files are one JSON object, `{"Records":[...]}`, that can hold hundreds of
//! megabytes. Parsing all of it into a tree costs memory that grows with the file and time that
//! is wasted on the records that cannot match. The splitter instead walks the bytes once, checks
//! the JSON grammar as it goes, and reports where each record starts and ends, so that the reader
//! can hand only the interesting slices to `serde_json`.
//!
//! It is resumable at any byte: when it reaches the end of the buffer it returns
//! [`Step::NeedMore`], the caller keeps the bytes from [`Splitter::retain_from`] on, drops the
//! rest with [`Splitter::discard`], appends more input and calls [`Splitter::next`] again.
//!
//! What counts as a record depends on the shape of each top-level value:
//! - an object whose first member is `"Records": [...]` (a CloudTrail log file): each element of
//!   that array;
//! - an array: each element;
//! - anything else (a bare record, an EventBridge event, a JSON Lines row): the value itself.
//!
//! Several top-level values may follow one another (JSON Lines, concatenated files).
//!
//! Strings are skipped with `memchr`, which is where almost all of a CloudTrail file is; the
//! few bytes between strings go through a small state machine. The grammar is that of RFC 8259
//! (strict numbers, escapes, no control characters in strings); UTF-8 is left to the caller,
//! which checks each record slice as a whole.

use std::fmt;

use memchr::memchr2;

/// Deepest nesting the splitter follows. Real CloudTrail records nest less than 20 levels;
/// the bound keeps a hostile file from growing the stack without limit.
pub const MAX_DEPTH: usize = 1024;

/// What [`Splitter::next`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A complete record: `buf[start..end]`.
    Record { start: usize, end: usize },
    /// A complete record whose head was dropped by [`Splitter::drop_record`]; only its length
    /// in bytes is known.
    Dropped { len: u64 },
    /// The buffer is exhausted; feed more input (or call [`Splitter::finish`] at the end).
    NeedMore,
    /// The input is not valid JSON.
    Error(SyntaxError),
}

/// Invalid JSON, at a byte offset counted from the start of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: u64,
    pub message: &'static str,
    /// Whether the splitter can resynchronise at the next line (JSON Lines input).
    pub recoverable: bool,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for SyntaxError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

/// The next token the grammar allows, between tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value: at the top level, after `:`, or after `,` in an array.
    Value,
    /// After `[`: a value or `]`.
    ValueOrClose,
    /// After `{`: a key or `}`.
    KeyOrClose,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a value inside a container: `,` or the closing bracket.
    CommaOrClose,
}

/// Where the splitter is inside a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Between,
    Str {
        key: bool,
    },
    Escape {
        key: bool,
    },
    Unicode {
        key: bool,
        left: u8,
    },
    Number(Num),
    Literal {
        word: &'static [u8],
        done: u8,
    },
    /// After an error in JSON Lines input: skipping to a line that starts with `{`.
    SkipLine {
        at_line_start: bool,
    },
}

/// States of the RFC 8259 number grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

impl Num {
    fn can_end(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::ExpDigits)
    }
}

/// How the current top-level value is cut into records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The value itself is the record (until it turns out to be a log file).
    Whole,
    /// Elements of a top-level array.
    ArrayItems,
    /// Elements of the `Records` array of a log file.
    LogRecords,
}

/// The record being read, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Current {
    None,
    /// Its bytes are kept in the buffer from `start`.
    Kept {
        start: usize,
        depth: usize,
    },
    /// Too large: its bytes are dropped as they are read; `start` is the stream offset.
    Dropped {
        start: u64,
        depth: usize,
    },
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub struct Splitter {
    stack: Vec<Container>,
    expect: Expect,
    lex: Lex,
    pos: usize,
    /// Bytes dropped from the front of the buffer so far: `discarded + pos` is the stream offset.
    discarded: u64,
    shape: Shape,
    current: Current,
    /// Start (in the buffer) of the first key of a top-level object, while it is being read.
    first_key: Option<usize>,
    /// The first key of the top-level object was `Records` and its value has not started yet.
    records_key: bool,
    /// Inside the `Records` array of a log file.
    in_records: bool,
}

impl Default for Splitter {
    fn default() -> Self {
        Self::new()
    }
}

impl Splitter {
    pub fn new() -> Self {
        Splitter {
            stack: Vec::new(),
            expect: Expect::Value,
            lex: Lex::Between,
            pos: 0,
            discarded: 0,
            shape: Shape::Whole,
            current: Current::None,
            first_key: None,
            records_key: false,
            in_records: false,
        }
    }

    /// Stream offset of the next byte to be examined.
    pub fn offset(&self) -> u64 {
        self.discarded + self.pos as u64
    }

    /// Stream offset of `buf_pos`, a position in the current buffer.
    pub fn stream_offset(&self, buf_pos: usize) -> u64 {
        self.discarded + buf_pos as u64
    }

    /// Skips `n` bytes the caller has consumed itself (a byte-order mark).
    pub fn skip(&mut self, n: usize) {
        self.pos += n;
    }

    /// The first buffer position still needed: everything before it may be discarded.
    pub fn retain_from(&self) -> usize {
        let from = match self.current {
            Current::Kept { start, .. } => start,
            _ => self.pos,
        };
        // A key being read at the top of a log file is compared once it ends.
        self.first_key.map_or(from, |key| from.min(key))
    }

    /// Whether a record is being read whose bytes are kept from `start`: its length so far.
    pub fn kept_len(&self) -> Option<usize> {
        match self.current {
            Current::Kept { start, .. } => Some(self.pos - start),
            _ => None,
        }
    }

    /// The caller removed `n` bytes from the front of the buffer.
    pub fn discard(&mut self, n: usize) {
        debug_assert!(n <= self.retain_from());
        self.pos -= n;
        self.discarded += n as u64;
        if let Current::Kept { start, .. } = &mut self.current {
            *start -= n;
        }
        self.first_key = self.first_key.and_then(|k| k.checked_sub(n));
    }

    /// Stops keeping the record being read (it is too large); it will be reported as
    /// [`Step::Dropped`] when it ends, and scanning goes on after it.
    pub fn drop_record(&mut self) {
        if let Current::Kept { start, depth } = self.current {
            self.current = Current::Dropped {
                start: self.stream_offset(start),
                depth,
            };
            self.first_key = None;
        }
    }

    /// Whether the input so far ended cleanly, between top-level values.
    pub fn at_top_level(&self) -> bool {
        self.stack.is_empty() && self.lex == Lex::Between
    }

    fn error(&self, at: usize, message: &'static str) -> Step {
        Step::Error(SyntaxError {
            offset: self.stream_offset(at),
            message,
            recoverable: self.shape == Shape::Whole,
        })
    }

    /// After a recoverable [`SyntaxError`]: skip to the next line that starts with `{`, then
    /// go on as if the input started there. Only JSON Lines style input (where the erroneous
    /// top-level value was the record) recovers; a broken log file does not.
    pub fn recover(&mut self) {
        self.stack.clear();
        self.expect = Expect::Value;
        self.lex = Lex::SkipLine {
            at_line_start: false,
        };
        self.current = Current::None;
        self.first_key = None;
        self.records_key = false;
        self.in_records = false;
        self.shape = Shape::Whole;
    }

    /// End of input: returns the last record if one was pending (a top-level number), or an
    /// error if the input stopped inside a value.
    pub fn finish(&mut self, buf: &[u8]) -> Result<Option<Step>, SyntaxError> {
        let end = buf.len();
        debug_assert_eq!(self.pos, end);
        match self.lex {
            Lex::Number(n) if self.stack.is_empty() => {
                if !n.can_end() {
                    return Err(self.syntax(end, "number ends too early"));
                }
                self.lex = Lex::Between;
                Ok(self.value_done(end))
            }
            Lex::SkipLine { .. } => Ok(None),
            Lex::Between if self.stack.is_empty() => Ok(None),
            Lex::Between => Err(self.syntax(
                end,
                "unexpected end of input inside an object or array (truncated?)",
            )),
            Lex::Str { .. } | Lex::Escape { .. } | Lex::Unicode { .. } => {
                Err(self.syntax(end, "unexpected end of input inside a string (truncated?)"))
            }
            Lex::Number(_) | Lex::Literal { .. } => {
                Err(self.syntax(end, "unexpected end of input inside a value (truncated?)"))
            }
        }
    }

    fn syntax(&self, at: usize, message: &'static str) -> SyntaxError {
        SyntaxError {
            offset: self.stream_offset(at),
            message,
            recoverable: self.shape == Shape::Whole,
        }
    }

    /// Advances over `buf[self.pos..]` until a record completes, the buffer ends, or the input
    /// turns out invalid. `buf` must hold the same bytes as at the previous call from
    /// [`Splitter::retain_from`] on, with new bytes appended.
    pub fn next(&mut self, buf: &[u8]) -> Step {
        let len = buf.len();
        loop {
            match self.lex {
                Lex::Str { key } => {
                    // Fast path: jump to the next quote or backslash.
                    let rest = &buf[self.pos..];
                    match memchr2(b'"', b'\\', rest) {
                        None => {
                            if let Some(i) = find_control(rest) {
                                return self.error(self.pos + i, "control character in string");
                            }
                            self.pos = len;
                            return Step::NeedMore;
                        }
                        Some(i) => {
                            if let Some(c) = find_control(&rest[..i]) {
                                return self.error(self.pos + c, "control character in string");
                            }
                            let at = self.pos + i;
                            self.pos = at + 1;
                            if buf[at] == b'\\' {
                                self.lex = Lex::Escape { key };
                                continue;
                            }
                            self.lex = Lex::Between;
                            if key {
                                self.key_done(buf, at);
                                self.expect = Expect::Colon;
                            } else if let Some(step) = self.value_done(self.pos) {
                                return step;
                            }
                        }
                    }
                }
                Lex::Escape { key } => {
                    let Some(&b) = buf.get(self.pos) else {
                        return Step::NeedMore;
                    };
                    self.lex = match b {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Lex::Str { key },
                        b'u' => Lex::Unicode { key, left: 4 },
                        _ => return self.error(self.pos, "invalid escape in string"),
                    };
                    self.pos += 1;
                }
                Lex::Unicode { key, left } => {
                    let Some(&b) = buf.get(self.pos) else {
                        return Step::NeedMore;
                    };
                    if !b.is_ascii_hexdigit() {
                        return self.error(self.pos, "invalid \\u escape in string");
                    }
                    self.pos += 1;
                    self.lex = if left == 1 {
                        Lex::Str { key }
                    } else {
                        Lex::Unicode {
                            key,
                            left: left - 1,
                        }
                    };
                }
                Lex::Number(n) => {
                    let Some(&b) = buf.get(self.pos) else {
                        return Step::NeedMore;
                    };
                    let next = match (n, b) {
                        (Num::Minus, b'0') => Num::Zero,
                        (Num::Minus, b'1'..=b'9') => Num::Int,
                        (Num::Int, b'0'..=b'9') => Num::Int,
                        (Num::Zero | Num::Int, b'.') => Num::Dot,
                        (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
                        (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::Exp,
                        (Num::Exp, b'+' | b'-') => Num::ExpSign,
                        (Num::Exp | Num::ExpSign | Num::ExpDigits, b'0'..=b'9') => Num::ExpDigits,
                        (Num::Zero, b'0'..=b'9') => {
                            return self.error(self.pos, "number with a leading zero")
                        }
                        _ if n.can_end() => {
                            // The number ended just before `b`, which is examined again.
                            self.lex = Lex::Between;
                            if let Some(step) = self.value_done(self.pos) {
                                return step;
                            }
                            continue;
                        }
                        _ => return self.error(self.pos, "malformed number"),
                    };
                    self.lex = Lex::Number(next);
                    self.pos += 1;
                }
                Lex::Literal { word, done } => {
                    let Some(&b) = buf.get(self.pos) else {
                        return Step::NeedMore;
                    };
                    if b != word[done as usize] {
                        return self
                            .error(self.pos, "invalid literal (expected true, false or null)");
                    }
                    self.pos += 1;
                    if done as usize + 1 == word.len() {
                        self.lex = Lex::Between;
                        if let Some(step) = self.value_done(self.pos) {
                            return step;
                        }
                    } else {
                        self.lex = Lex::Literal {
                            word,
                            done: done + 1,
                        };
                    }
                }
                Lex::SkipLine { at_line_start } => {
                    if at_line_start {
                        let Some(&b) = buf.get(self.pos) else {
                            return Step::NeedMore;
                        };
                        if b == b'{' {
                            self.lex = Lex::Between;
                            continue;
                        }
                    }
                    match memchr::memchr(b'\n', &buf[self.pos..]) {
                        None => {
                            self.pos = len;
                            self.lex = Lex::SkipLine {
                                at_line_start: false,
                            };
                            return Step::NeedMore;
                        }
                        Some(i) => {
                            self.pos += i + 1;
                            self.lex = Lex::SkipLine {
                                at_line_start: true,
                            };
                        }
                    }
                }
                Lex::Between => {
                    let Some(&b) = buf.get(self.pos) else {
                        return Step::NeedMore;
                    };
                    if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                        self.pos += 1;
                        continue;
                    }
                    if let Some(step) = self.structural(b) {
                        return step;
                    }
                }
            }
        }
    }

    /// Handles one byte between tokens (not whitespace).
    fn structural(&mut self, b: u8) -> Option<Step> {
        let at = self.pos;
        match self.expect {
            Expect::Value | Expect::ValueOrClose => {
                if b == b']' && self.expect == Expect::ValueOrClose {
                    self.pos += 1;
                    return self.close(Container::Array);
                }
                self.value_start(b);
                self.pos += 1;
                match b {
                    b'{' => return self.open(Container::Object, Expect::KeyOrClose),
                    b'[' => return self.open(Container::Array, Expect::ValueOrClose),
                    b'"' => self.lex = Lex::Str { key: false },
                    b'-' => self.lex = Lex::Number(Num::Minus),
                    b'0' => self.lex = Lex::Number(Num::Zero),
                    b'1'..=b'9' => self.lex = Lex::Number(Num::Int),
                    b't' => self.lex = literal(b"true"),
                    b'f' => self.lex = literal(b"false"),
                    b'n' => self.lex = literal(b"null"),
                    _ => return Some(self.error(at, "expected a value")),
                }
                None
            }
            Expect::KeyOrClose | Expect::Key => {
                self.pos += 1;
                match b {
                    b'"' => {
                        if self.stack.len() == 1 {
                            match self.shape {
                                // The first key of a top-level object decides if it is a log
                                // file.
                                Shape::Whole => {
                                    self.first_key =
                                        (self.expect == Expect::KeyOrClose).then_some(self.pos)
                                }
                                // In a log file, a second `Records` array holds records too:
                                // a parser that keeps the last of duplicate keys reads that
                                // one, so both are read.
                                Shape::LogRecords => self.first_key = Some(self.pos),
                                Shape::ArrayItems => {}
                            }
                        }
                        self.lex = Lex::Str { key: true };
                        None
                    }
                    b'}' if self.expect == Expect::KeyOrClose => self.close(Container::Object),
                    _ => Some(self.error(at, "expected a string key")),
                }
            }
            Expect::Colon => {
                if b != b':' {
                    return Some(self.error(at, "expected ':' after a key"));
                }
                self.pos += 1;
                self.expect = Expect::Value;
                None
            }
            Expect::CommaOrClose => {
                self.pos += 1;
                let top = self.stack.last().copied();
                match (b, top) {
                    (b',', Some(Container::Object)) => {
                        self.expect = Expect::Key;
                        None
                    }
                    (b',', Some(Container::Array)) => {
                        self.expect = Expect::Value;
                        None
                    }
                    (b'}', Some(Container::Object)) => self.close(Container::Object),
                    (b']', Some(Container::Array)) => self.close(Container::Array),
                    (_, Some(Container::Object)) => {
                        Some(self.error(at, "expected ',' or '}' after an object member"))
                    }
                    _ => Some(self.error(at, "expected ',' or ']' after an array element")),
                }
            }
        }
    }

    fn open(&mut self, kind: Container, expect: Expect) -> Option<Step> {
        if self.stack.len() >= MAX_DEPTH {
            return Some(Step::Error(SyntaxError {
                offset: self.offset(),
                message: "nesting too deep",
                recoverable: false,
            }));
        }
        self.stack.push(kind);
        self.expect = expect;
        None
    }

    fn close(&mut self, kind: Container) -> Option<Step> {
        debug_assert_eq!(self.stack.last(), Some(&kind));
        if self.in_records && self.stack.len() == 2 {
            self.in_records = false;
        }
        self.stack.pop();
        self.value_done(self.pos)
    }

    /// A value starts with byte `b` at `self.pos`, at depth `self.stack.len()`.
    fn value_start(&mut self, b: u8) {
        let depth = self.stack.len();
        let start = self.pos;
        match (depth, self.shape) {
            (0, _) => {
                self.shape = if b == b'[' {
                    Shape::ArrayItems
                } else {
                    Shape::Whole
                };
                self.in_records = false;
                self.records_key = false;
                if self.shape == Shape::Whole {
                    self.current = Current::Kept { start, depth: 0 };
                }
            }
            (1, Shape::ArrayItems) => self.current = Current::Kept { start, depth: 1 },
            (1, Shape::Whole) if self.records_key => {
                self.records_key = false;
                if b == b'[' {
                    // A CloudTrail log file: its records are the elements of this array.
                    self.shape = Shape::LogRecords;
                    self.in_records = true;
                    self.current = Current::None;
                }
            }
            (1, Shape::LogRecords) if self.records_key => {
                self.records_key = false;
                self.in_records = b == b'[';
            }
            (2, Shape::LogRecords) if self.in_records => {
                self.current = Current::Kept { start, depth: 2 }
            }
            _ => {}
        }
    }

    /// A key string closed; its closing quote is at `quote`.
    fn key_done(&mut self, buf: &[u8], quote: usize) {
        if let Some(start) = self.first_key.take() {
            self.records_key = &buf[start..quote] == b"Records";
        }
    }

    /// A value ended just before `end`; returns the record if it was one.
    fn value_done(&mut self, end: usize) -> Option<Step> {
        let depth = self.stack.len();
        self.expect = if depth == 0 {
            Expect::Value
        } else {
            Expect::CommaOrClose
        };
        match self.current {
            Current::Kept { start, depth: d } if d == depth => {
                self.current = Current::None;
                Some(Step::Record { start, end })
            }
            Current::Dropped { start, depth: d } if d == depth => {
                self.current = Current::None;
                Some(Step::Dropped {
                    len: self.stream_offset(end) - start,
                })
            }
            _ => None,
        }
    }
}

fn literal(word: &'static [u8]) -> Lex {
    Lex::Literal { word, done: 1 }
}

/// Position of the first byte below 0x20 (forbidden unescaped in JSON strings).
///
/// Eight bytes at a time: `x - 0x20..20 & !x & 0x80..80` has a high bit set in each byte that
/// was below 0x20 (exact for thresholds up to 0x80).
#[inline]
fn find_control(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x2020_2020_2020_2020;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = s.chunks_exact(8);
    for (n, chunk) in chunks.by_ref().enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        if x.wrapping_sub(LO) & !x & HI != 0 {
            let base = n * 8;
            return chunk.iter().position(|&b| b < 0x20).map(|i| base + i);
        }
    }
    let tail = chunks.remainder();
    let base = s.len() - tail.len();
    tail.iter().position(|&b| b < 0x20).map(|i| base + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `input`, fed `chunk` bytes at a time, into record strings or the first error.
    fn split(input: &str, chunk: usize) -> Result<Vec<String>, SyntaxError> {
        let bytes = input.as_bytes();
        let mut sp = Splitter::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        let mut out = Vec::new();
        loop {
            match sp.next(&buf) {
                Step::Record { start, end } => {
                    out.push(String::from_utf8(buf[start..end].to_vec()).unwrap())
                }
                Step::Dropped { len } => out.push(format!("<dropped {len}>")),
                Step::Error(e) => return Err(e),
                Step::NeedMore => {
                    let keep = sp.retain_from();
                    buf.drain(..keep);
                    sp.discard(keep);
                    if fed == bytes.len() {
                        if let Some(Step::Record { start, end }) = sp.finish(&buf)? {
                            out.push(String::from_utf8(buf[start..end].to_vec()).unwrap());
                        }
                        return Ok(out);
                    }
                    let n = chunk.min(bytes.len() - fed);
                    buf.extend_from_slice(&bytes[fed..fed + n]);
                    fed += n;
                }
            }
        }
    }

    /// The same result whatever the chunk size: resuming mid-token must not change anything.
    fn split_all_chunks(input: &str) -> Result<Vec<String>, SyntaxError> {
        let whole = split(input, usize::MAX);
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(
                split(input, chunk),
                whole,
                "chunk size {chunk} on {input:?}"
            );
        }
        whole
    }

    #[test]
    fn log_file_records_are_the_elements_of_records() {
        let got = split_all_chunks(r#"{"Records":[{"a":1},{"b":"x\"]}"} , [2] ]}"#).unwrap();
        assert_eq!(got, vec![r#"{"a":1}"#, r#"{"b":"x\"]}"}"#, "[2]"]);
    }

    #[test]
    fn records_must_be_the_first_key_and_an_array_to_stream() {
        // Not first: the whole object is one record (the reader classifies it later).
        let got = split_all_chunks(r#"{"x":1,"Records":[{"a":1}]}"#).unwrap();
        assert_eq!(got, vec![r#"{"x":1,"Records":[{"a":1}]}"#]);
        let got = split_all_chunks(r#"{"Records":{"a":1}}"#).unwrap();
        assert_eq!(got, vec![r#"{"Records":{"a":1}}"#]);
        // A key that merely starts like Records.
        let got = split_all_chunks(r#"{"RecordsX":[1]}"#).unwrap();
        assert_eq!(got, vec![r#"{"RecordsX":[1]}"#]);
    }

    #[test]
    fn other_members_of_a_log_file_are_checked_but_not_records() {
        let got = split_all_chunks(r#"{"Records":[{"a":1}],"more":[{"b":2}],"n":null}"#).unwrap();
        assert_eq!(got, vec![r#"{"a":1}"#]);
    }

    #[test]
    fn every_records_array_of_a_log_file_is_read() {
        let input = r#"{"Records":[{"a":1}],"x":{"Records":[0]},"Records":[{"b":2},{"c":3}]}"#;
        assert_eq!(
            split_all_chunks(input).unwrap(),
            [r#"{"a":1}"#, r#"{"b":2}"#, r#"{"c":3}"#]
        );
        // A later `Records` that is not an array is a member like any other.
        let input = r#"{"Records":[{"a":1}],"Records":{"b":2}}"#;
        assert_eq!(split_all_chunks(input).unwrap(), [r#"{"a":1}"#]);
    }

    #[test]
    fn arrays_json_lines_and_concatenated_files() {
        assert_eq!(
            split_all_chunks("[{\"a\":1},\n {\"b\":[1,2]}]").unwrap(),
            vec![r#"{"a":1}"#, r#"{"b":[1,2]}"#]
        );
        assert_eq!(
            split_all_chunks("{\"a\":1}\n{\"b\":2}\n").unwrap(),
            vec![r#"{"a":1}"#, r#"{"b":2}"#]
        );
        assert_eq!(
            split_all_chunks(r#"{"Records":[{"a":1}]}{"Records":[{"b":2}]}"#).unwrap(),
            vec![r#"{"a":1}"#, r#"{"b":2}"#]
        );
        assert_eq!(split_all_chunks(" \n ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn top_level_scalars_are_records() {
        assert_eq!(
            split_all_chunks("12 -0.5e+3").unwrap(),
            vec!["12", "-0.5e+3"]
        );
        assert_eq!(
            split_all_chunks("true \"s\" null").unwrap(),
            vec!["true", "\"s\"", "null"]
        );
    }

    #[test]
    fn strict_grammar() {
        let bad = [
            (r#"{"a":01}"#, "leading zero"),
            (r#"{"a":1.}"#, "malformed number"),
            (r#"{"a":-}"#, "malformed number"),
            (r#"{"a":tru}"#, "invalid literal"),
            (r#"{"a" 1}"#, "expected ':'"),
            (r#"{"a":1 "b":2}"#, "expected ','"),
            (r#"{"a":1,}"#, "expected a string key"),
            (r#"[1,]"#, "expected a value"),
            (r#"[1}"#, "expected ',' or ']'"),
            (r#"{"a":"\x"}"#, "invalid escape"),
            (r#"{"a":"\u12G4"}"#, "invalid \\u"),
            ("{\"a\":\"line\nbreak\"}", "control character"),
            (r#"{1:2}"#, "expected a string key"),
            (r#"{"Records":[{"a":1}{"b":2}]}"#, "expected ',' or ']'"),
        ];
        for (input, want) in bad {
            let err = split_all_chunks(input).unwrap_err();
            assert!(err.message.contains(want), "{input}: {err}");
        }
    }

    #[test]
    fn truncated_input_is_an_error_at_the_end() {
        for input in [
            r#"{"Records":[{"a":1},{"b""#,
            r#"{"a":"x"#,
            r#"[1,2"#,
            r#"{"a":tr"#,
            "-",
        ] {
            let err = split_all_chunks(input).unwrap_err();
            assert_eq!(err.offset, input.len() as u64, "{input}");
        }
        // Records that completed before the cut were still returned.
        let bytes = br#"{"Records":[{"a":1},{"b""#;
        let mut sp = Splitter::new();
        assert_eq!(sp.next(bytes), Step::Record { start: 12, end: 19 });
    }

    #[test]
    fn json_lines_recover_at_the_next_line() {
        let input = "{\"a\":1}\n{\"b\" 2}\n{\"c\":3}\n";
        let mut sp = Splitter::new();
        let buf = input.as_bytes();
        assert_eq!(sp.next(buf), Step::Record { start: 0, end: 7 });
        let Step::Error(e) = sp.next(buf) else {
            panic!("expected an error")
        };
        assert!(e.recoverable);
        sp.recover();
        assert_eq!(sp.next(buf), Step::Record { start: 16, end: 23 });
        assert_eq!(sp.next(buf), Step::NeedMore);
    }

    #[test]
    fn errors_in_log_files_are_not_recoverable() {
        let Err(e) = split_all_chunks(r#"{"Records":[{"a":1} x]}"#) else {
            panic!()
        };
        assert!(!e.recoverable);
    }

    #[test]
    fn dropped_records_are_skipped_but_scanning_goes_on() {
        let input = br#"{"Records":[{"big":"0123456789"},{"b":2}]}"#;
        let mut sp = Splitter::new();
        // Feed up to the middle of the first record, then drop it.
        assert_eq!(sp.next(&input[..20]), Step::NeedMore);
        assert_eq!(sp.kept_len(), Some(8));
        sp.drop_record();
        let keep = sp.retain_from();
        assert_eq!(keep, 20);
        sp.discard(keep);
        let rest = &input[20..];
        assert_eq!(sp.next(rest), Step::Dropped { len: 20 });
        assert_eq!(sp.next(rest), Step::Record { start: 13, end: 20 });
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        let err = split(&deep, usize::MAX).unwrap_err();
        assert_eq!(err.message, "nesting too deep");
    }

    #[test]
    fn find_control_finds_the_first() {
        assert_eq!(find_control(b"abcdefghij\x01k"), Some(10));
        assert_eq!(find_control(b"\x1f"), Some(0));
        assert_eq!(find_control(b"plain ascii and \xc3\xa9 utf8 bytes"), None);
        assert_eq!(
            find_control(&[0x7f, 0x80, 0xff, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25]),
            None
        );
    }
}
