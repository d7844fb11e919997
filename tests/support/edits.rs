//! Byte-level edits of a file, for the properties on mutated inputs (log files, envelopes):
//! flips, sets, inserts, deletes, duplicates, truncations, and letters swapped for others of
//! their kind.

use proptest::prelude::*;
use proptest::sample::select;

/// One byte-level edit; positions are fractions (‰) of the current length.
#[derive(Debug, Clone)]
pub enum ByteEdit {
    Flip {
        at: u16,
        bit: u8,
    },
    Set {
        at: u16,
        byte: u8,
    },
    Insert {
        at: u16,
        bytes: Vec<u8>,
    },
    Delete {
        at: u16,
        len: u8,
    },
    Duplicate {
        at: u16,
        len: u8,
    },
    Truncate {
        at: u16,
    },
    /// The first letter or digit from `at` on becomes `byte` (one of the same kind): mostly
    /// still valid JSON, so that the comparison with a full parse has work to do.
    Letter {
        at: u16,
        byte: u8,
    },
}

/// Bytes that matter to a JSON splitter or to UTF-8.
pub const INTERESTING: &[u8] = b"\"\\{}[],:\n\r \t0-eu\x00\x1f\x7f\x80\xbf\xc3\xef\xf0\xff";

pub fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![select(INTERESTING.to_vec()), any::<u8>()]
}

pub fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let at = 0..=1000u16;
    prop_oneof![
        3 => (at.clone(), 0..8u8).prop_map(|(at, bit)| ByteEdit::Flip { at, bit }),
        3 => (at.clone(), interesting_byte()).prop_map(|(at, byte)| ByteEdit::Set { at, byte }),
        2 => (at.clone(), prop::collection::vec(interesting_byte(), 1..4))
            .prop_map(|(at, bytes)| ByteEdit::Insert { at, bytes }),
        2 => (at.clone(), 1..64u8).prop_map(|(at, len)| ByteEdit::Delete { at, len }),
        1 => (at.clone(), 1..64u8).prop_map(|(at, len)| ByteEdit::Duplicate { at, len }),
        1 => at.clone().prop_map(|at| ByteEdit::Truncate { at }),
        6 => (at, select(b"MSAadmnoprstuyl0123456789".to_vec()))
            .prop_map(|(at, byte)| ByteEdit::Letter { at, byte }),
    ]
}

impl ByteEdit {
    pub fn apply(&self, bytes: &mut Vec<u8>) {
        let pos = |at: u16, len: usize| len * at as usize / 1000;
        let len = bytes.len();
        match self {
            ByteEdit::Flip { at, bit } if len > 0 => {
                let i = pos(*at, len - 1);
                bytes[i] ^= 1 << bit;
            }
            ByteEdit::Set { at, byte } if len > 0 => {
                let i = pos(*at, len - 1);
                bytes[i] = *byte;
            }
            ByteEdit::Insert { at, bytes: new } => {
                let i = pos(*at, len);
                bytes.splice(i..i, new.iter().copied());
            }
            ByteEdit::Delete { at, len: n } => {
                let i = pos(*at, len);
                let end = (i + *n as usize).min(len);
                bytes.drain(i..end);
            }
            ByteEdit::Duplicate { at, len: n } => {
                let i = pos(*at, len);
                let end = (i + *n as usize).min(len);
                let copy = bytes[i..end].to_vec();
                bytes.splice(end..end, copy);
            }
            ByteEdit::Truncate { at } => bytes.truncate(pos(*at, len)),
            ByteEdit::Letter { at, byte } => {
                let from = pos(*at, len);
                let same_kind = |b: u8| b.is_ascii_digit() == byte.is_ascii_digit();
                if let Some(b) = bytes[from..]
                    .iter_mut()
                    .find(|b| b.is_ascii_alphanumeric() && same_kind(**b))
                {
                    *b = *byte;
                }
            }
            _ => {}
        }
    }
}
