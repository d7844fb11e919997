//! The binary itself: `scan` as a process, its stdout, stderr and exit status.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use support::moto::AtMoto;
use support::output::{findings, targets};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"));
    // A clean environment for the settings the binary reads.
    for var in [
        "FINDINGS_TOPIC_ARN",
        "TRUSTED_ACCOUNT_IDS",
        "MAX_OBJECT_BYTES",
        "MAX_RECORD_BYTES",
        "AWS_LAMBDA_RUNTIME_API",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn scan(args: &[&str]) -> Output {
    bin().arg("scan").args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The summary line of a scan (the last line of stderr), without the input size and the time
/// it took, which vary: `scanned N inputs: ...`.
fn summary(err: &str) -> String {
    let last = err.lines().last().unwrap_or_default();
    let (head, rest) = last.split_once(" (").unwrap_or((last, ""));
    let rest = rest.split_once("): ").map_or(rest, |(_, r)| r);
    let rest = rest.rsplit_once(" in ").map_or(rest, |(r, _)| r);
    format!("{head}: {rest}")
}

#[test]
fn the_sample_events_give_six_findings() {
    let out = scan(&["events/"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let f = findings(&out);
    // Sorted file order: the log group payload's two shares, then foreign-account and public
    // (the control message, failed, removed and self give nothing), then the two uses.
    assert_eq!(
        targets(&out),
        [
            "012345678912",
            "111122223333",
            "098797384747",
            "all",
            "999999999999",
            "210987654321"
        ]
    );
    assert_eq!(f[3]["public"], true);
    assert_eq!(f[4]["event"]["action"], "SharedSnapshotCopyInitiated");
    assert_eq!(f[5]["event"]["action"], "SharedSnapshotVolumeCreated");
    let err = stderr(&out);
    assert_eq!(
        summary(&err),
        "scanned 16 inputs: 16 records, 6 findings, 0 errors",
        "{err}"
    );
}

#[test]
fn the_corpus_gives_the_expected_findings() {
    let out = scan(&["tests/fixtures/corpus"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut got = targets(&out);
    got.sort();
    // Each of the 5 shares and the one use (the Stratus doc example, by 999999999999) appears
    // twice: in its own file and in the assembled corpus file.
    let mut want: Vec<String> = [
        "012345678912",
        "098797384747",
        "111122223333",
        "54321",
        "all",
        "999999999999",
    ]
    .iter()
    .flat_map(|t| [t.to_string(), t.to_string()])
    .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn a_malformed_file_exits_2_names_the_file_and_keeps_the_rest() {
    let out = scan(&[
        "tests/fixtures/malformed",
        "events/eventbridge-share-foreign-account.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(
            "cloudtrail2sightings_aws.execution.ec2-user-data.datadog-export.INVALID.json"
        ),
        "{err}"
    );
    assert!(
        err.contains("eventbridge-ebs-snapshot-notification-shareSnapshot"),
        "{err}"
    );
    assert_eq!(
        findings(&out).len(),
        1,
        "the good file's finding is still printed"
    );
}

#[test]
fn a_missing_path_exits_2() {
    let out = scan(&["no/such/file.json", "events/eventbridge-share-public.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(
        err.lines().next(),
        Some("error: no/such/file.json: No such file or directory (os error 2)"),
        "{err}"
    );
    assert_eq!(
        summary(&err),
        "scanned 2 inputs: 1 records, 1 findings, 1 errors",
        "{err}"
    );
    assert_eq!(findings(&out).len(), 1);
}

#[test]
fn stdin_gzip_and_dash() {
    let plain = std::fs::read("events/eventbridge-share-public.json").unwrap();
    let gz = std::fs::read("tests/fixtures/corpus/all-corpus-records.Records.json.gz").unwrap();
    for (args, input, expected) in [(vec![], plain, 1), (vec!["-"], gz, 6)] {
        let mut child = bin()
            .arg("scan")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(findings(&out).len(), expected, "{args:?}");
    }
}

#[test]
fn trusted_accounts_apply_to_scan() {
    let out = bin()
        .args(["scan", "events/"])
        .env("TRUSTED_ACCOUNT_IDS", "098797384747")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        targets(&out),
        [
            "012345678912",
            "111122223333",
            "all",
            "999999999999",
            "210987654321"
        ]
    );
    // Trusting the account that used a snapshot silences that use too.
    let out = bin()
        .args(["scan", "events/eventbridge-used-copy.json"])
        .env("TRUSTED_ACCOUNT_IDS", "999999999999")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(findings(&out).is_empty());
}

#[test]
fn bad_configuration_exits_2_naming_the_variable() {
    let out = bin()
        .args(["scan", "events/"])
        .env("MAX_OBJECT_BYTES", "a lot")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: environment variable MAX_OBJECT_BYTES: \"a lot\" is not a size \
         (bytes, or a number with k, M or G)\n"
    );
}

#[test]
fn no_command_outside_lambda_prints_help() {
    let out = bin().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("scan"));
}

#[tokio::test]
async fn aws_publish_sends_the_findings_to_sns_too() {
    let moto = support::moto::moto();
    let c = support::moto::clients(moto).await;
    let t = support::moto::topic(&c, false).await;
    let out = bin()
        .args(["scan", "--publish", "events/"])
        .env("FINDINGS_TOPIC_ARN", &t.arn)
        .at_moto(&moto.endpoint)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        summary(&stderr(&out)),
        "scanned 16 inputs: 16 records, 6 findings, 6 published, 0 errors",
        "{}",
        stderr(&out)
    );
    let printed = findings(&out);
    let got = support::moto::receive(&c, &t, 6).await;
    assert_eq!(got.len(), 6);
    let mut sent: Vec<&str> = printed
        .iter()
        .map(|f| f["finding_id"].as_str().unwrap())
        .collect();
    let mut arrived: Vec<&str> = got.iter().map(|m| m.finding.finding_id.as_str()).collect();
    sent.sort();
    arrived.sort();
    assert_eq!(sent, arrived);
}

#[test]
fn publish_without_a_topic_is_refused() {
    let out = scan(&["--publish", "events/"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: --publish needs FINDINGS_TOPIC_ARN\n");
}
