//! The reader on every input shape, compressed or not, whole or broken (no AWS needed).

mod support;

use std::io::{self, Read};

use serde_json::{json, Value};
use snapshot_share_detector::finding::Finding;
use snapshot_share_detector::reader::{
    scan, Limits, ReadError, RecordErrorKind, ScanOptions, ScanReport,
};
use snapshot_share_detector::rule::TrustedAccounts;
use support::gzip::gzip;
use support::records::{log_file, share};

fn other(event_id: &str) -> Value {
    json!({"eventVersion": "1.09", "eventID": event_id, "eventSource": "s3.amazonaws.com",
           "eventName": "GetObject", "userAgent": "ModifySnapshot\"Attribute [}] \\"})
}

fn run_with<R: Read + Send>(input: R, limits: Limits) -> (Vec<Finding>, ScanReport) {
    let trusted = TrustedAccounts::default();
    let opts = ScanOptions {
        trusted: &trusted,
        limits,
        origin: Some("test-input"),
        progress: None,
    };
    let mut findings = Vec::new();
    let report = scan(input, &opts, &mut |f| findings.push(f));
    (findings, report)
}

fn run(bytes: &[u8]) -> (Vec<Finding>, ScanReport) {
    run_with(bytes, Limits::default())
}

fn targets(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(|f| f.user_id.clone()).collect()
}

/// A reader that hands out at most `n` bytes per call, as a slow network would.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn log_file_plain_and_gzip_give_the_same_findings() {
    let file = log_file(&[
        other("a"),
        share("b", &["111111111111"]),
        other("c"),
        share("d", &["222222222222"]),
    ]);
    let (plain, report) = run(&file);
    assert!(report.is_clean(), "{:?}", report.error_summary());
    assert!(!report.compressed);
    assert_eq!(
        (report.records, report.candidates, report.findings),
        (4, 2, 2)
    );
    assert_eq!(targets(&plain), ["111111111111", "222222222222"]);
    assert_eq!(plain[0].log.as_ref().unwrap().file.path, "test-input");

    let (zipped, report) = run(&gzip(&file));
    assert!(report.compressed && report.is_clean());
    assert_eq!(report.bytes, file.len() as u64);
    assert_eq!(zipped, plain);

    // Whatever the read sizes, the same result.
    for n in [1, 3, 4096] {
        let (f, r) = run_with(Trickle(&gzip(&file), n), Limits::default());
        assert_eq!((f, r.records), (plain.clone(), 4), "reads of {n} bytes");
    }
}

#[test]
fn every_container_shape_is_read() {
    let a = share("a", &["111111111111"]);
    let b = share("b", &["222222222222"]);
    let eventbridge = json!({"version": "0", "detail-type": "AWS API Call via CloudTrail",
                             "source": "aws.ec2", "account": "756680937392", "detail": b});
    let shapes: Vec<(&str, Vec<u8>)> = vec![
        ("array", serde_json::to_vec(&json!([a, b])).unwrap()),
        ("json lines", format!("{a}\n{b}\n").into_bytes()),
        (
            "concatenated log files",
            [
                log_file(std::slice::from_ref(&a)),
                log_file(std::slice::from_ref(&b)),
            ]
            .concat(),
        ),
        (
            "pretty log file",
            serde_json::to_vec_pretty(&json!({"Records": [a, b]})).unwrap(),
        ),
        (
            "records not first",
            serde_json::to_vec(&json!({"x": 1, "Records": [a, b]})).unwrap(),
        ),
        (
            "bare record + eventbridge",
            format!("{a}\n{eventbridge}").into_bytes(),
        ),
    ];
    for (name, bytes) in shapes {
        for bytes in [bytes.clone(), gzip(&bytes)] {
            let (findings, report) = run(&bytes);
            assert!(report.is_clean(), "{name}: {:?}", report.error_summary());
            assert_eq!(
                targets(&findings),
                ["111111111111", "222222222222"],
                "{name}"
            );
        }
    }
}

#[test]
fn the_whole_corpus_in_one_file() {
    let bytes = std::fs::read("tests/fixtures/corpus/all-corpus-records.Records.json.gz").unwrap();
    let (findings, report) = run(&bytes);
    assert!(report.is_clean(), "{:?}", report.error_summary());
    // 892 records, 7 of them ModifySnapshotAttribute (see tests/fixtures/SOURCES.md).
    assert_eq!(report.records, 892);
    assert_eq!(report.bytes, 1_106_329);
    let mut got = targets(&findings);
    got.sort();
    // Snapshot shares: stratus, cloudtrail2sightings, Panther public + foreign, Panther
    // backup (54321); the one use: the Stratus SharedSnapshotCopyInitiated example
    // (999999999999); AMI shares: Stratus (846424999548), Panther public, "bob" and
    // 012345678901; RDS shares: Stratus (503161813013), Panther (193672423079); failed public
    // shares (attempts): Panther's snapshot and AMI tests.
    assert_eq!(
        got,
        [
            "012345678901",
            "012345678912",
            "098797384747",
            "111122223333",
            "193672423079",
            "503161813013",
            "54321",
            "846424999548",
            "999999999999",
            "all",
            "all",
            "all",
            "all",
            "bob"
        ]
    );
}

#[test]
fn multi_member_gzip_is_read_to_the_end() {
    let one = gzip(&log_file(&[share("a", &["111111111111"])]));
    let two = gzip(&log_file(&[share("b", &["222222222222"])]));
    let (findings, report) = run(&[one, two].concat());
    assert!(report.is_clean());
    assert_eq!(targets(&findings), ["111111111111", "222222222222"]);
}

#[test]
fn truncated_gzip_is_an_error_after_the_findings_before_it() {
    let records: Vec<Value> = (0..2000)
        .map(|i| {
            if i == 3 {
                share("early", &["111111111111"])
            } else {
                other(&format!("e{i}"))
            }
        })
        .chain([share("late", &["222222222222"])])
        .collect();
    let zipped = gzip(&log_file(&records));
    let (findings, report) = run(&zipped[..zipped.len() / 2]);
    assert_eq!(targets(&findings), ["111111111111"]);
    let fatal = report.fatal.expect("a truncated file is an error");
    assert!(matches!(fatal, ReadError::Io { .. }), "{fatal}");
}

#[test]
fn truncated_plain_json_is_an_error() {
    let file = log_file(&[share("a", &["111111111111"]), share("b", &["222222222222"])]);
    let (findings, report) = run(&file[..file.len() - 30]);
    assert_eq!(targets(&findings), ["111111111111"]);
    let fatal = report.fatal.unwrap().to_string();
    assert_eq!(
        fatal,
        "record 2: invalid JSON at byte 919: unexpected end of input inside a string (truncated?)"
    );
}

#[test]
fn corrupt_gzip_is_an_error() {
    let mut zipped = gzip(&log_file(&[share("a", &["111111111111"])]));
    let mid = zipped.len() / 2;
    zipped[mid] ^= 0xff;
    let (_, report) = run(&zipped);
    assert!(report.fatal.is_some());
}

#[test]
fn malformed_corpus_files_fail_cleanly() {
    for (file, want) in [
        (
            "cloudtrail2sightings_aws.execution.ec2-user-data.datadog-export.INVALID.json",
            "record 2: invalid JSON at byte 3327: expected ',' or ']' after an array element",
        ),
        (
            "eventbridge-ebs-snapshot-notification-shareSnapshot_amazon-ec2-user-guide.INVALID.json",
            "record 1 (byte 493): invalid JSON: number with a leading zero",
        ),
    ] {
        let bytes = std::fs::read(format!("tests/fixtures/malformed/{file}")).unwrap();
        let (_, report) = run(&bytes);
        assert_eq!(report.error_summary().as_deref(), Some(want), "{file}");
    }
}

#[test]
fn a_bad_line_does_not_cost_the_next_finding() {
    let input = format!(
        "{}\n{{\"eventName\": \"ModifySnapshotAttribute\" oops}}\n{}\n",
        share("a", &["111111111111"]),
        share("b", &["222222222222"])
    );
    let (findings, report) = run(input.as_bytes());
    assert_eq!(targets(&findings), ["111111111111", "222222222222"]);
    assert_eq!(report.error_count, 1);
    assert!(report.fatal.is_none());
    assert_eq!(
        report.errors[0].to_string(),
        "record 2 (byte 508): invalid JSON: expected ',' or '}' after an object member"
    );
}

#[test]
fn records_that_are_not_objects_or_not_utf8_are_errors_of_their_own() {
    let mut bytes = b"{\"Records\":[5,\"x\",null,".to_vec();
    bytes.extend_from_slice(b"{\"eventName\":\"\xff\xfe\"},");
    bytes.extend_from_slice(&serde_json::to_vec(&share("a", &["111111111111"])).unwrap());
    bytes.extend_from_slice(b"]}");
    let (findings, report) = run(&bytes);
    assert_eq!(targets(&findings), ["111111111111"]);
    assert_eq!(report.error_count, 4);
    assert!(matches!(
        report.errors[0].kind,
        RecordErrorKind::NotAnObject("number")
    ));
    assert!(matches!(report.errors[3].kind, RecordErrorKind::Utf8(_)));
}

#[test]
fn an_oversized_record_is_skipped_and_reported() {
    let mut big = share("big", &["333333333333"]);
    big["userAgent"] = json!("x".repeat(300_000));
    let file = log_file(&[
        share("a", &["111111111111"]),
        big,
        share("b", &["222222222222"]),
    ]);
    let limits = Limits {
        max_record_bytes: 100_000,
        ..Limits::default()
    };
    let (findings, report) = run_with(Trickle(&file, 10_000), limits);
    assert_eq!(targets(&findings), ["111111111111", "222222222222"]);
    assert_eq!(report.records, 3);
    assert_eq!(report.error_count, 1);
    assert_eq!(
        report.errors[0].to_string(),
        "record 2 (byte 480): record of 300484 bytes exceeds MAX_RECORD_BYTES (100000); \
         it was not evaluated"
    );
}

#[test]
fn a_decompression_bomb_stops_at_the_cap() {
    let zeros = vec![b' '; 5 << 20];
    let bomb = gzip(&[b"{\"Records\":[".as_slice(), &zeros, b"]}"].concat());
    assert!(bomb.len() < 100_000);
    let limits = Limits {
        max_object_bytes: 1 << 20,
        ..Limits::default()
    };
    let (_, report) = run_with(bomb.as_slice(), limits);
    let fatal = report.fatal.unwrap().to_string();
    assert_eq!(
        fatal,
        format!(
            "decompressed size exceeds the limit of 1048576 bytes (MAX_OBJECT_BYTES); \
             stopped after {} bytes",
            report.bytes
        )
    );
    assert!(report.bytes <= (1 << 20) + (512 << 10));
}

#[test]
fn empty_input_and_byte_order_marks() {
    let (findings, report) = run(b"");
    assert!(findings.is_empty() && report.is_clean() && report.records == 0);
    let (findings, report) = run(&gzip(b""));
    assert!(findings.is_empty() && report.is_clean() && report.records == 0);
    let with_bom = [
        b"\xEF\xBB\xBF".as_slice(),
        &log_file(&[share("a", &["111111111111"])]),
    ]
    .concat();
    let (findings, report) = run(&with_bom);
    assert!(report.is_clean());
    assert_eq!(targets(&findings), ["111111111111"]);
}

#[test]
fn an_event_name_in_other_fields_costs_no_parse_and_no_finding() {
    // userAgent mentions the event name: the prefilter looks at the eventName key's value
    // only, so the record is not even parsed.
    let file = log_file(&[other("a"), other("b")]);
    let (findings, report) = run(&file);
    assert!(findings.is_empty());
    assert_eq!(
        report.candidates, 0,
        "\"ModifySnapshot\\\"Attribute\" is not the needle"
    );
    let mut tricky = other("c");
    tricky["userAgent"] = json!("ModifySnapshotAttribute\"}]");
    let (findings, report) = run(&log_file(&[tricky, share("d", &["111111111111"])]));
    assert_eq!(report.candidates, 1, "the share alone is parsed");
    assert_eq!(targets(&findings), ["111111111111"]);
}
