//! The byte-level state machine of the splitter: what each structural byte, string, number
//! and literal does to the grammar state and where records end.

use memchr::memchr2;

use super::*;

impl Splitter {
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
    pub(super) fn value_done(&mut self, end: usize) -> Option<Step> {
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
pub(super) fn find_control(s: &[u8]) -> Option<usize> {
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
