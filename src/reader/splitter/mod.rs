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
}

mod machine;
#[cfg(test)]
mod tests;
