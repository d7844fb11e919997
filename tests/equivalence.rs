//! The fast path (streaming splitter, `ModifySnapshotAttribute` prefilter, parsing only the
//! candidates, inflating on a second thread) gives exactly the findings of the plain path
//! (inflate everything, `serde_json` the whole document, evaluate every record): on every
//! fixture, and on generated files full of strings built to fool a scanner.

mod support;

use serde_json::{json, Value};
use snapshot_share_detector::finding::Finding;
use snapshot_share_detector::reader::{self, Limits, ScanOptions};
use snapshot_share_detector::rule::TrustedAccounts;
use support::gzip::gzip_level;
use support::oracle::full_parse;
use support::prng::Prng;

/// The findings of the fast path, as JSON, in order; and whether the reader saw any error.
fn fast(bytes: &[u8]) -> (Vec<String>, bool) {
    let trusted = TrustedAccounts::default();
    let opts = ScanOptions {
        trusted: &trusted,
        limits: Limits::default(),
        origin: None,
        progress: None,
    };
    let mut out = Vec::new();
    let report = reader::scan(bytes, &opts, &mut |f: Finding| out.push(f.to_json()));
    (out, !report.is_clean())
}

/// The findings of the plain path (the oracle of `tests/support/oracle.rs`): everything
/// inflated and parsed, every record evaluated.
fn plain(bytes: &[u8]) -> Vec<String> {
    full_parse(bytes, &TrustedAccounts::default(), None, u64::MAX)
        .expect("the inputs compared here are valid JSON")
        .findings
}

#[test]
fn every_fixture_gives_the_same_findings_both_ways() {
    let mut compared = 0;
    let mut findings = 0;
    for dir in ["tests/fixtures/corpus", "events"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).unwrap();
            let (got, errors) = fast(&bytes);
            assert!(!errors, "{}", path.display());
            let want = plain(&bytes);
            assert_eq!(got, want, "{}", path.display());
            // And the same file gzip-compressed, inflated on the second thread.
            if !bytes.starts_with(&[0x1f, 0x8b]) {
                assert_eq!(
                    fast(&gzip_level(&bytes, 1)).0,
                    want,
                    "{} (gzip)",
                    path.display()
                );
            }
            compared += 1;
            findings += want.len();
        }
    }
    assert!(compared >= 15, "compared only {compared} files");
    // The corpus has shares; a comparison of empty lists would prove nothing.
    assert!(findings >= 10, "only {findings} findings compared");
}

/// Strings that a naive scanner would misread: quotes, brackets, escapes, the event name.
const TRICKY: &[&str] = &[
    "ModifySnapshotAttribute",
    "\"}]",
    "\"},{\"eventName\":\"ModifySnapshotAttribute\"",
    "\\",
    "\\\"",
    "]}{\"Records\":[",
    "aws-cli/2.15 ModifySnapshotAttribute \"createVolumePermission\":{\"add\"",
    "\u{1F600} ünïcödé \u{2028}",
    "{\"userId\":\"999999999999\"}",
    "\n\r\t",
    "",
];

fn record(g: &mut Prng, i: usize) -> Value {
    let owner = "111122223333";
    let tricky = |g: &mut Prng| g.pick(TRICKY).to_string();
    let mut r = json!({
        "eventVersion": "1.09",
        "eventTime": "2024-08-01T12:28:02Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": *g.pick(&["ModifySnapshotAttribute", "DescribeSnapshots", "CreateSnapshot"]),
        "awsRegion": "us-east-1",
        "sourceIPAddress": tricky(g),
        "userAgent": tricky(g),
        "eventID": format!("gen-{i}"),
        "recipientAccountId": owner,
        "userIdentity": {"type": "IAMUser", "arn": tricky(g), "accountId": owner},
    });
    let target = *g.pick(&[owner, "444455556666", "777788889999"]);
    let item = if g.below(5) == 0 {
        json!({"group": "all"})
    } else {
        json!({ "userId": target })
    };
    let op = *g.pick(&["add", "add", "remove"]);
    r["requestParameters"] = json!({
        "snapshotId": format!("snap-{i:08x}"),
        "attributeType": *g.pick(&["CREATE_VOLUME_PERMISSION", "createVolumePermission", "productCodes"]),
        "createVolumePermission": { op: { "items": [item] } },
        "note": tricky(g),
    });
    if g.below(8) == 0 {
        r["errorCode"] = json!("Client.UnauthorizedOperation");
    }
    r
}

/// Serializes `v`, sometimes with every non-ASCII character and some letters of the event
/// name written as `\u` escapes (valid JSON that CloudTrail does not write, but a file can
/// hold).
fn write(g: &mut Prng, v: &Value) -> String {
    let text = v.to_string();
    if g.below(6) == 0 {
        text.replace("ModifySnapshot", "\\u004dodify\\u0053napshot")
    } else {
        text
    }
}

#[test]
fn generated_files_with_tricky_strings_give_the_same_findings_both_ways() {
    let mut total = 0;
    for seed in 1..=300u64 {
        let mut g = Prng::new(seed);
        let n = 1 + g.below(20);
        let records: Vec<String> = (0..n)
            .map(|i| {
                let r = record(&mut g, i);
                write(&mut g, &r)
            })
            .collect();
        let text = match g.below(4) {
            0 => format!("{{\"Records\":[{}]}}", records.join(",")),
            1 => format!("[{}]", records.join(",\n  ")),
            2 => records.join("\n"),
            _ => format!(
                "\u{FEFF}{{\"Records\": [ {} ], \"x\": \"]}}\"}}",
                records.join(" , ")
            ),
        };
        let bytes = if g.below(2) == 0 {
            gzip_level(text.as_bytes(), 1)
        } else {
            text.into_bytes()
        };
        let want = plain(&bytes);
        let (got, errors) = fast(&bytes);
        assert!(!errors, "seed {seed}: the reader reported an error");
        assert_eq!(got, want, "seed {seed}");
        total += want.len();
    }
    assert!(
        total > 100,
        "only {total} findings: the generator is too tame"
    );
}
