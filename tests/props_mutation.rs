//! Property tests (proptest): the reader on mutated log files (random byte edits of generated
//! ones, before or after gzip) against the full-parse oracle (`tests/support/oracle.rs`), and
//! the corrupt gzip files the fuzzer found.
//!
//! Case counts are set per property; `PROPTEST_CASES=N` overrides them all for a longer run.
//! Failures are not persisted to disk (proptest prints the minimal failing input instead).

mod support;

use proptest::prelude::*;
use snapshot_share_detector::reader::{Limits, ReadError, RecordErrorKind};
use snapshot_share_detector::rule::TrustedAccounts;
use support::cases::*;
use support::edits::byte_edit;
use support::files::*;
use support::oracle::{full_parse, FullParse};

proptest! {
    #![proptest_config(config(400))]

    /// Random byte mutations of a valid file (of its bytes, or of its text before gzip)
    /// never panic and leave a consistent report; if the mutated file is still valid JSON
    /// (and gzip), the reader reports no syntax error, and a clean read gives the findings of
    /// a full parse.
    #[test]
    fn mutated_files_never_panic(
        spec in file_spec(),
        edits in prop::collection::vec(byte_edit(), 1..6),
        before_gzip in any::<bool>(),
    ) {
        let built = build(&spec);
        let bytes = if before_gzip {
            let mut text = built.text.clone();
            for e in &edits {
                e.apply(&mut text);
            }
            encode(&text, spec.gzip.as_ref())
        } else {
            let mut bytes = built.bytes.clone();
            for e in &edits {
                e.apply(&mut bytes);
            }
            bytes
        };
        let (got, report) = scan(&bytes, &spec.reads, &spec.trusted.0, Limits::default());
        check_report(&bytes, &got, &report)?;
        if let Some(FullParse { findings: want, ambiguous }) = full_parse(&bytes, &TrustedAccounts::parse(&spec.trusted.0), Some(ORIGIN), u64::MAX) {
            prop_assert!(report.fatal.is_none(), "{:?}", report.fatal);
            for e in &report.errors {
                prop_assert!(
                    matches!(
                        e.kind,
                        RecordErrorKind::NotAnObject(_)
                            | RecordErrorKind::NotCloudTrail(_)
                            | RecordErrorKind::Container(_)
                            | RecordErrorKind::TooLarge { .. }
                    ),
                    "valid JSON, yet {}", e
                );
            }
            if report.is_clean() && !ambiguous {
                prop_assert_eq!(got, want);
            }
        }
    }
}

/// Found by the `reader` fuzz target: flate2's readers return an error, and drop what they
/// inflated in the same `read`, when they meet a corrupt deflate block, so records wholly
/// before the corruption went unevaluated depending on how the bytes arrived. `src/gzip.rs`
/// hands over every byte inflated before the fault.
#[test]
fn corrupt_gzip_keeps_the_findings_before_the_corruption() {
    // The fuzzer's 661-byte file: a share inflates in full before the corruption; read one
    // byte at a time it is found, read at once nothing is ("after 0 decompressed bytes").
    let bytes =
        std::fs::read("fuzz/regressions/reader/corrupt-deflate-drops-decoded-records.gz").unwrap();
    let (trickle, report) = scan(&bytes, &[1], "", Limits::default());
    assert_eq!(trickle.len(), 1, "{:?}", report.error_summary());
    let (whole, report) = scan(&bytes, &[], "", Limits::default());
    assert_eq!(whole, trickle, "{:?}", report.error_summary());

    // The corpus file with one byte changed 94% of the way in: 1,016,757 bytes inflate
    // before the corruption, holding 12 findings (4 snapshot shares, 4 AMI and 2 RDS shares,
    // 2 failed attempts); the reader once saw only the first 786,432 bytes of them.
    let mut bytes =
        std::fs::read("tests/fixtures/corpus/all-corpus-records.Records.json.gz").unwrap();
    bytes[125_926] ^= 0x55;
    let (whole, report) = scan(&bytes, &[], "", Limits::default());
    assert!(
        matches!(report.fatal, Some(ReadError::Io { .. })),
        "{:?}",
        report.fatal
    );
    assert_eq!(whole.len(), 12, "{:?}", report.error_summary());
}
