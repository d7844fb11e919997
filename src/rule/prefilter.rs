//! The rules' fast path: which raw record bytes are worth parsing at all.
//!
//! Almost every record of a log file is a call no rule reads. Parsing each one into a tree to
//! find that out is most of what a naive reader spends its time on. A record can match only if
//! its bytes hold the key `"eventName"` with, as its value, one of the event names of
//! [`super::RULES`] (whitespace around the colon allowed), unless a JSON `\u` escape spells a
//! letter of that key or of a name: CloudTrail never writes one there, but a log file is input,
//! and the fast path must decide exactly as a full parse would (tests/equivalence.rs checks
//! both agree). The names come from the registry, so a new rule's calls pass here without a
//! second list to keep, and however many rules there are, a record costs two searches: one for
//! the key (SIMD, `memchr::memmem`), each hit compared against the names, and one for `\u`.

use memchr::memmem;

use crate::trigger::envelope;

/// The key every CloudTrail record names its call with.
const KEY: &[u8] = b"\"eventName\"";

/// Decides, from a record's raw JSON bytes, whether any rule could match it.
#[derive(Debug, Clone)]
pub struct Prefilter {
    /// Every event name of every rule, each once.
    names: Vec<&'static [u8]>,
    key: memmem::Finder<'static>,
    /// The letters of the key and of the names: an escape of any other character cannot spell
    /// either.
    letters: [bool; 256],
    escape: memmem::Finder<'static>,
}

impl Default for Prefilter {
    fn default() -> Self {
        let mut names: Vec<&'static str> = super::calls().map(|call| call.name).collect();
        names.sort_unstable();
        names.dedup();
        Prefilter::new(&names)
    }
}

impl Prefilter {
    /// A prefilter for records of these event names.
    pub fn new(names: &[&'static str]) -> Self {
        let mut letters = [false; 256];
        for b in names
            .iter()
            .flat_map(|n| n.bytes())
            .chain(KEY.iter().copied())
        {
            letters[usize::from(b)] = true;
        }
        letters[usize::from(b'"')] = false;
        Prefilter {
            names: names.iter().map(|n| n.as_bytes()).collect(),
            key: memmem::Finder::new(KEY),
            letters,
            escape: memmem::Finder::new(b"\\u"),
        }
    }

    /// `false` only when no parse of `bytes` could give a record a rule matches.
    pub fn may_match(&self, bytes: &[u8]) -> bool {
        self.names_a_call(bytes)
            || self.escapes_a_letter(bytes)
            || envelope::compressed_keys().any(|key| first_key_is(bytes, key.as_bytes()))
    }

    /// Whether some `"eventName"` key in `bytes` has one of the names as its value.
    fn names_a_call(&self, bytes: &[u8]) -> bool {
        self.key.find_iter(bytes).any(|at| {
            let rest = skip_blanks(&bytes[at + KEY.len()..]);
            let Some(rest) = rest.strip_prefix(b":") else {
                return false;
            };
            let Some(value) = skip_blanks(rest).strip_prefix(b"\"") else {
                return false;
            };
            // A name holds no quote or backslash: the value ends at the next quote, and one
            // that escapes anything is no name (unless it escapes a letter: see below).
            memchr::memchr(b'"', value).is_some_and(|end| self.names.contains(&&value[..end]))
        })
    }

    /// Whether `bytes` hold a `\uXXXX` escape of a letter of one of the event names (other
    /// escapes, such as the `\u003c` some JSON writers use for `<`, cannot spell one).
    fn escapes_a_letter(&self, bytes: &[u8]) -> bool {
        self.escape.find_iter(bytes).any(|at| {
            let hex = |i: usize| bytes.get(at + i).and_then(|&b| (b as char).to_digit(16));
            match (hex(2), hex(3), hex(4), hex(5)) {
                (Some(0), Some(0), Some(hi), Some(lo)) => self.letters[(hi * 16 + lo) as usize],
                _ => false,
            }
        })
    }
}

/// `bytes` without the JSON whitespace it starts with.
fn skip_blanks(bytes: &[u8]) -> &[u8] {
    let n = bytes
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count();
    &bytes[n..]
}

/// Whether the object in `bytes` starts with the key `key`: a CloudWatch Logs subscription
/// payload (`{"awslogs": ...}`) holds its records compressed, where no byte search sees them.
/// Looks at the first bytes only, so every other record pays nothing.
fn first_key_is(bytes: &[u8], key: &[u8]) -> bool {
    let mut rest = match bytes.split_first() {
        Some((b'{', rest)) => rest,
        _ => return false,
    };
    while let Some((b, tail)) = rest.split_first() {
        if !b.is_ascii_whitespace() {
            break;
        }
        rest = tail;
    }
    rest.len() > key.len() + 1
        && rest[0] == b'"'
        && &rest[1..=key.len()] == key
        && rest[key.len() + 1] == b'"'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_event_name_or_an_escape_of_its_letters_passes() {
        let p = Prefilter::default();
        assert!(p.may_match(br#"{"eventName":"ModifySnapshotAttribute"}"#));
        assert!(p.may_match(br#"{"eventName":"\u004dodifySnapshotAttribute"}"#));
        // Every rule's calls pass (the AMI, RDS and block public access rules' too), others
        // do not.
        assert!(p.may_match(br#"{"eventName":"ModifyImageAttribute"}"#));
        assert!(p.may_match(br#"{"eventName":"ModifyDBClusterSnapshotAttribute"}"#));
        assert!(p.may_match(br#"{"eventName":"DisableSnapshotBlockPublicAccess"}"#));
        assert!(!p.may_match(br#"{"eventName":"ModifyInstanceAttribute"}"#));
        // The service events of a used share, plain and with an escaped letter.
        assert!(p.may_match(br#"{"eventName":"SharedSnapshotCopyInitiated"}"#));
        assert!(p.may_match(br#"{"eventName":"SharedSnapshotVolumeCreated"}"#));
        assert!(p.may_match(br#"{"eventName":"\u0053haredSnapshotCopyInitiated"}"#));
        // `V`, `C` and `I` are letters of event names: an escape of one of
        // them, with `SharedSnapshot` itself spelled by escapes, must pass.
        assert!(p.may_match(br#"{"eventName":"\u0056"}"#));
        assert!(p.may_match(br#"{"eventName":"\u0043"}"#));
        assert!(p.may_match(br#"{"eventName":"\u0049"}"#));
        // `z` and `<` are letters of no event name.
        assert!(!p.may_match(br#"{"eventName":"\u007a"}"#));
        assert!(!p.may_match(br#"{"eventName":"SharedImageCopied"}"#));
        // `<` is not a letter of the event name.
        assert!(!p.may_match(br#"{"userAgent":"\u003cscript"}"#));
        // A cut escape reads nothing past the end.
        assert!(!p.may_match(br#"{"a":"\u00"#));
        // CloudWatch Logs payloads hold their records compressed.
        assert!(p.may_match(br#"{"awslogs":{"data":"H4sI"}}"#));
        assert!(p.may_match(b"{\n  \"awslogs\": {}}"));
        assert!(!p.may_match(br#"{"awslogsX":1}"#));
        assert!(!p.may_match(br#"{"a":{"awslogs":1}}"#));
        // The name must be the value of an eventName key, blanks around the colon allowed,
        // and all of it.
        assert!(p.may_match(b"{\"eventName\" :\n \"ModifyImageAttribute\"}"));
        assert!(!p.may_match(br#"{"eventName":"ModifyImageAttributes"}"#));
        assert!(!p.may_match(br#"{"userAgent":"ModifySnapshotAttribute"}"#));
        assert!(p.may_match(br#"[{"eventName":"A"},{"eventName":"ModifySnapshotAttribute"}]"#));
        // An escaped letter of the key itself.
        assert!(p.may_match(br#"{"eventName":"ModifySnapshotAttribute"}"#));
    }
}
