//! Property tests (proptest): the reader against the rule on generated log files of every shape
//! (`tests/support/files.rs`). `tests/equivalence.rs` compares the fast reader with a full
//! parse on a fixed set of seeds; here the inputs are generated and shrunk by proptest, the
//! expected findings come from evaluating each generated record directly, and the reader is
//! also driven through small reads, multi-member gzip, byte-order marks, `\u` escapes
//! anywhere, limits and truncation.
//!
//! Case counts are set per property; `PROPTEST_CASES=N` overrides them all for a longer run.
//! Failures are not persisted to disk (proptest prints the minimal failing input instead).

mod support;

use proptest::prelude::*;
use snapshot_share_detector::reader::{Limits, ReadError, RecordErrorKind};
use support::cases::*;
use support::files::*;

/// The error of a record a rule could not read (its parameters a string that is not JSON).
fn is_unreadable(kind: &RecordErrorKind) -> bool {
    matches!(kind, RecordErrorKind::Container(text) if text.contains("is a string that is not JSON"))
}

proptest! {
    #![proptest_config(config(256))]

    /// Every shape, plain or gzip (in several members), read all at once or a few bytes at a
    /// time, with `\u` escapes and odd blanks: the reader finds exactly what evaluating each
    /// record directly finds, in order, and cuts exactly the expected records.
    #[test]
    fn the_reader_finds_what_the_rule_finds(spec in file_spec()) {
        let built = build(&spec);
        let (got, report) = scan(&built.bytes, &spec.reads, &spec.trusted.0, Limits::default());
        check_report(&built.bytes, &got, &report)?;
        // Clean but for the records whose parameters cannot be read: one error each.
        prop_assert!(report.fatal.is_none(), "{:?}", report.fatal);
        prop_assert_eq!(report.error_count, built.unreadable, "{:?}", report.error_summary());
        for e in &report.errors {
            prop_assert!(is_unreadable(&e.kind), "{}", e);
        }
        let want: Vec<String> = built.slices.iter().flat_map(|(_, f)| f.clone()).collect();
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(report.records, built.slices.len() as u64);
        prop_assert_eq!(report.bytes, built.text.len() as u64);
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// A record no longer than `MAX_RECORD_BYTES` is never dropped; a longer one may be, and
    /// is then an error of its own; nothing else changes. Past `MAX_OBJECT_BYTES` reading
    /// stops with the findings before the cap.
    #[test]
    fn limits_drop_records_and_stop_reading_but_change_nothing_else(
        spec in file_spec(),
        record_limit in 1..3000usize,
        object_fraction in 0..1000u64,
    ) {
        let built = build(&spec);
        let all: Vec<String> = built.slices.iter().flat_map(|(_, f)| f.clone()).collect();
        let kept: Vec<String> = built
            .slices
            .iter()
            .filter(|(len, _)| *len <= record_limit)
            .flat_map(|(_, f)| f.clone())
            .collect();
        let limits = Limits { max_record_bytes: record_limit, ..Limits::default() };
        let (got, report) = scan(&built.bytes, &spec.reads, &spec.trusted.0, limits);
        check_report(&built.bytes, &got, &report)?;
        prop_assert!(report.fatal.is_none(), "{:?}", report.fatal);
        prop_assert!(subsequence(&got, &all), "findings that a full read does not give");
        prop_assert!(subsequence(&kept, &got), "a record within the limit was dropped");
        prop_assert_eq!(report.records, built.slices.len() as u64);
        let long = built.slices.iter().filter(|(len, _)| *len > record_limit).count() as u64;
        prop_assert!(report.error_count <= long + built.unreadable);
        for e in &report.errors {
            prop_assert!(
                matches!(e.kind, RecordErrorKind::TooLarge { .. }) || is_unreadable(&e.kind),
                "{}", e
            );
        }

        let cap = built.text.len() as u64 * object_fraction / 1000;
        let limits = Limits { max_object_bytes: cap, ..Limits::default() };
        let (got, report) = scan(&built.bytes, &spec.reads, &spec.trusted.0, limits);
        check_report(&built.bytes, &got, &report)?;
        prop_assert!(all.starts_with(&got), "not a prefix of the full findings");
        if (built.text.len() as u64) > cap {
            prop_assert!(
                matches!(report.fatal, Some(ReadError::TooLarge { .. })),
                "{:?}", report.fatal
            );
        }
    }

    /// A file cut anywhere gives a prefix of the findings of the whole; a gzip member cut
    /// anywhere is an error.
    #[test]
    fn a_truncated_file_gives_a_prefix_of_the_findings(
        spec in file_spec(),
        cut in 0..1000usize,
    ) {
        let built = build(&spec);
        let all: Vec<String> = built.slices.iter().flat_map(|(_, f)| f.clone()).collect();
        let at = built.bytes.len() * cut / 1000;
        let cut_bytes = &built.bytes[..at];
        let (got, report) = scan(cut_bytes, &spec.reads, &spec.trusted.0, Limits::default());
        check_report(cut_bytes, &got, &report)?;
        prop_assert!(all.starts_with(&got), "not a prefix of the full findings");
        let one_member = spec.gzip.as_ref().is_some_and(|g| g.cuts.is_empty());
        if one_member && at >= 2 {
            prop_assert!(!report.is_clean(), "a truncated gzip file read as clean");
        }
    }

}

#[test]
fn the_file_generator_makes_findings_and_every_shape() {
    let specs = sample(file_spec(), 200);
    let mut findings = 0;
    let mut gzip_members = 0;
    let mut escaped = 0;
    let mut small_reads = 0;
    let mut unreadable = 0;
    let mut rules = std::collections::BTreeSet::new();
    for spec in &specs {
        let built = build(spec);
        unreadable += built.unreadable;
        for finding in built.slices.iter().flat_map(|(_, f)| f) {
            let v: serde_json::Value = serde_json::from_str(finding).unwrap();
            rules.insert(v["rule"]["id"].as_str().unwrap().to_owned());
        }
        findings += built.slices.iter().map(|(_, f)| f.len()).sum::<usize>();
        gzip_members += spec.gzip.as_ref().is_some_and(|g| !g.cuts.is_empty()) as usize;
        escaped += (spec.style.escapes > 0 && built.text.windows(2).any(|w| w == b"\\u")) as usize;
        small_reads += spec.reads.iter().any(|&n| n < 64) as usize;
    }
    assert!(findings > 300, "only {findings} findings in 200 files");
    assert!(
        gzip_members > 30,
        "only {gzip_members} multi-member gzip files"
    );
    assert!(escaped > 30, "only {escaped} files with \\u escapes");
    assert!(
        small_reads > 30,
        "only {small_reads} files read a few bytes at a time"
    );
    assert!(unreadable > 0, "no record with unreadable parameters");
    // The fast path is compared with the full parse on every rule's findings.
    let registry = snapshot_share_detector::rule::RULES.len();
    assert_eq!(rules.len(), registry, "findings of only {rules:?}");
}
