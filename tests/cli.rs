//! The binary itself: `scan` as a process, its stdout, stderr and exit status.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::json;
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
fn the_sample_events_give_one_finding_per_target_of_every_rule() {
    let out = scan(&["events/"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let f = findings(&out);
    // Sorted file order: the log group payload's snapshot shares, Panther's failed public
    // share (an attempt), Stratus' AMI and RDS shares, block public access switched off
    // (`all`: what it opens is public); the same AMI and RDS shares as
    // EventBridge events; the failed share (an attempt), foreign-account and public shares, and
    // the removal of the foreign-account share (a resolution); block public access switched
    // off; then the two uses. The control message and the self-share give nothing.
    assert_eq!(
        targets(&out),
        [
            "012345678912",
            "all",
            "111122223333",
            "846424999548",
            "503161813013",
            "all",
            "846424999548",
            "503161813013",
            "all",
            "098797384747",
            "all",
            "098797384747",
            "all",
            "999999999999",
            "210987654321"
        ]
    );
    let action = |i: usize| f[i]["event"]["action"].as_str().unwrap().to_owned();
    assert_eq!(
        (action(1), &f[1]["event"]["outcome"]),
        ("ModifySnapshotAttribute".into(), &json!("failure"))
    );
    assert_eq!(action(3), "ModifyImageAttribute");
    assert_eq!(action(4), "ModifyDBSnapshotAttribute");
    assert_eq!(action(5), "DisableSnapshotBlockPublicAccess");
    assert_eq!(f[8]["event"]["outcome"], "failure");
    assert_eq!(f[10]["public"], true);
    assert_eq!(
        (
            &f[11]["status"],
            &f[11]["operationType"],
            &f[11]["share_id"]
        ),
        (&json!("resolved"), &json!("remove"), &f[9]["share_id"]),
        "the removal resolves the foreign-account share"
    );
    assert_eq!(action(12), "DisableSnapshotBlockPublicAccess");
    assert_eq!(action(13), "SharedSnapshotCopyInitiated");
    assert_eq!(action(14), "SharedSnapshotVolumeCreated");
    let err = stderr(&out);
    assert_eq!(
        summary(&err),
        "scanned 20 inputs: 24 records, 15 findings, 0 errors",
        "{err}"
    );
}

#[test]
fn the_corpus_gives_the_expected_findings() {
    let out = scan(&["tests/fixtures/corpus"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut got = targets(&out);
    got.sort();
    // Each of the 5 snapshot shares and the one use (the Stratus doc example, by
    // 999999999999) appears twice: in its own file and in the assembled corpus file. The
    // assembled file alone holds the AMI shares (Stratus' 846424999548; Panther's public,
    // "bob" and 012345678901), the RDS shares (Stratus' 503161813013, Panther's
    // 193672423079) and two failed public shares (an AMI's, a snapshot's); the failed
    // snapshot share is in Panther's own file too.
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
    .chain(
        [
            "846424999548",
            "all",
            "bob",
            "012345678901",
            "503161813013",
            "193672423079",
            "all",
            "all",
            "all",
        ]
        .map(String::from),
    )
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
    // The corpus log file: 5 snapshot shares, 1 use, 4 AMI and 2 RDS shares, 2 attempts.
    for (args, input, expected) in [(vec![], plain, 1), (vec!["-"], gz, 14)] {
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
    // As in the sample events test, without the foreign-account share.
    assert_eq!(
        targets(&out),
        [
            "012345678912",
            "all",
            "111122223333",
            "846424999548",
            "503161813013",
            "all",
            "846424999548",
            "503161813013",
            "all",
            "all",
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
        "scanned 20 inputs: 24 records, 15 findings, 15 published, 0 errors",
        "{}",
        stderr(&out)
    );
    let printed = findings(&out);
    // Every finding printed is published: without DEDUP_TABLE, scan --publish sends what it
    // finds (the AMI and RDS shares twice: as a log group payload and as EventBridge events).
    let got = support::moto::receive(&c, &t, 15).await;
    assert_eq!(got.len(), 15);
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
    assert_eq!(
        stderr(&out),
        "error: --publish needs FINDINGS_TOPIC_ARN or SECURITY_HUB=true\n"
    );
}
