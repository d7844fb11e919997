//! The oracle the fast reader is held to: inflate everything, parse the whole text with
//! `serde_json`, hand every value to `trigger::envelope::for_each_record` and every record to
//! `rule::detect`. Used by `tests/equivalence.rs`, the reader properties and the fuzz target
//! of the reader (`fuzz/fuzz_targets/reader.rs` includes this very file by path), so that all
//! three compare with the same thing.
//!
//! Depends on nothing but the crate, `serde`, `serde_json` and `flate2`, which the fuzz crate
//! has too.
#![allow(dead_code)]

use std::fmt;
use std::io::Read;

use flate2::read::MultiGzDecoder;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use snapshot_share_detector::rule::{self, TrustedAccounts};
use snapshot_share_detector::trigger::envelope::for_each_record;

/// What a full parse of a file found.
#[derive(Debug)]
pub struct FullParse {
    /// The findings as JSON, in the order of the records.
    pub findings: Vec<String>,
    /// Whether the input is one on which this is no oracle (see [`ambiguous_log_file`]).
    pub ambiguous: bool,
}

/// The findings of a full parse of `bytes` (plain, or gzip in one or more members, with or
/// without a byte-order mark). `None` when the input is not valid gzip or not valid JSON, or
/// inflates to `max_inflated` bytes or more.
pub fn full_parse(
    bytes: &[u8],
    trusted: &TrustedAccounts,
    origin: Option<&str>,
    max_inflated: u64,
) -> Option<FullParse> {
    let mut data = Vec::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        MultiGzDecoder::new(bytes)
            .take(max_inflated)
            .read_to_end(&mut data)
            .ok()?;
        if data.len() as u64 >= max_inflated {
            return None;
        }
    } else {
        data.extend_from_slice(bytes);
    }
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&data);
    let mut findings = Vec::new();
    let mut ambiguous = false;
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    let mut start = 0;
    while let Some(value) = values.next() {
        let value = value.ok()?;
        let end = values.byte_offset();
        ambiguous |= ambiguous_log_file(&value, &data[start..end]);
        start = end;
        for_each_record(&value, &mut |record, account| {
            for finding in rule::detect(&record, account, trusted, origin) {
                findings.push(finding.to_json());
            }
        });
    }
    Some(FullParse {
        findings,
        ambiguous,
    })
}

/// A top-level object with a `Records` member that also repeats `Records` (the reader
/// streams the first array when it is the first member; `serde_json` keeps the last) or is
/// also an EventBridge "via CloudTrail" event (`for_each_record` then takes only its
/// `detail`). Neither is a real input; on them the two paths may differ by design.
pub fn ambiguous_log_file(value: &Value, raw: &[u8]) -> bool {
    /// How many members of an object are named `Records`.
    struct RecordsKeys(usize);
    impl<'de> Deserialize<'de> for RecordsKeys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Count;
            impl<'de> Visitor<'de> for Count {
                type Value = RecordsKeys;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RecordsKeys, A::Error> {
                    let mut n = 0;
                    while let Some(key) = map.next_key::<String>()? {
                        n += usize::from(key == "Records");
                        map.next_value::<IgnoredAny>()?;
                    }
                    Ok(RecordsKeys(n))
                }
            }
            d.deserialize_map(Count)
        }
    }

    let Some(map) = value.as_object() else {
        return false;
    };
    if !map.contains_key("Records") {
        return false;
    }
    let eventbridge = map
        .get("detail-type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with("via CloudTrail"))
        && map.get("detail").is_some_and(Value::is_object);
    eventbridge || serde_json::from_slice::<RecordsKeys>(raw).map_or(true, |k| k.0 > 1)
}
