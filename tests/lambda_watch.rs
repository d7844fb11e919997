//! The real thing: the binary inside a Lambda runtime. `cargo lambda watch` (the Lambda
//! runtime emulator) runs the function with its environment pointed at moto; every file in
//! `events/` is invoked with `cargo lambda invoke`, and the response and the SNS messages that
//! arrived are checked. The function reaches moto through the fault proxy, which throttles one
//! object for the S3 Batch Operations job at the end.

mod support;

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};
use support::lambda::{free_port, invoke, read, require_cargo_lambda, start_watch};
use support::proxy::{Fault, Kind, Proxy};

/// The bucket and key the S3 samples in `events/` name.
const BUCKET: &str = "snapshot-share-detector-demo";
const KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/08/01/123456789012_CloudTrail_us-east-1_20240801T1230Z_demo.json.gz";
/// The log file uploaded there, a trail log mixing every kind: the whole corpus (892 records)
/// and block public access switched off for snapshots and for AMIs, [`CORPUS`] findings.
const LOG: &str = "tests/fixtures/rules/every-kind.Records.json.gz";

/// What each sample gives: (file, findings published, whether it is an SQS batch).
const EXPECTED: &[(&str, usize, bool)] = &[
    ("cloudwatch-logs-control.json", 0, false),
    // Two snapshot shares, a failed public share, an AMI and an RDS share, block public access
    // switched off.
    ("cloudwatch-logs-org-trail.json", 6, false),
    ("eventbridge-ami-shared.json", 1, false),
    ("eventbridge-rds-snapshot-shared.json", 1, false),
    ("eventbridge-s3-object-created.json", CORPUS, false),
    ("eventbridge-share-failed.json", 1, false),
    ("eventbridge-share-foreign-account.json", 1, false),
    ("eventbridge-share-public.json", 1, false),
    // The removal of the foreign-account share: a resolution.
    ("eventbridge-share-removed.json", 1, false),
    ("eventbridge-share-self.json", 0, false),
    (
        "eventbridge-snapshot-block-public-access-disabled.json",
        1,
        false,
    ),
    ("eventbridge-used-copy.json", 1, false),
    ("eventbridge-used-volume.json", 1, false),
    ("s3-batch-operations-1.0.json", CORPUS, false),
    ("s3-batch-operations-2.0.json", CORPUS, false),
    ("s3-notification.json", CORPUS, false),
    ("sns-s3-notification.json", CORPUS, false),
    ("sqs-s3-log-archive-bucket.json", CORPUS, true),
    ("sqs-s3-notification.json", CORPUS, true),
    ("sqs-sns-s3-notification.json", CORPUS, true),
];

/// The findings of [`LOG`]: 5 snapshot shares, 1 use, 4 AMI and 2 RDS shares, 2 failed
/// attempts, and block public access switched off twice (snapshots, AMIs).
const CORPUS: usize = 16;
/// The records of [`LOG`].
const RECORDS: usize = 894;

/// A batch from a log-archive bucket, as the trail queue gets it: a trail log, an AWS Config
/// history file, Config's `ConfigWritabilityCheckFile`, a digest, and a file that is not
/// CloudTrail under a CloudTrail key. Only the last one fails.
const LOG_ARCHIVE: &str = "sqs-s3-log-archive-bucket.json";
/// The objects of [`LOG_ARCHIVE`] besides the trail log, and what they hold.
const LOG_ARCHIVE_OBJECTS: &[(&str, &str)] = &[
    (
        "AWSLogs/123456789012/Config/us-east-1/2024/8/1/ConfigHistory/123456789012_Config_us-east-1_ConfigHistory_AWS::EC2::Volume_20240801T120000Z_20240801T180000Z_1.json.gz",
        CONFIG_HISTORY,
    ),
    (
        "AWSLogs/123456789012/Config/ConfigWritabilityCheckFile",
        "Written by AWS Config to check that it can write to the bucket.",
    ),
    (
        "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/08/01/123456789012_CloudTrail-Digest_us-east-1_demo_us-east-1_20240801T133000Z.json.gz",
        r#"{"awsAccountId":"123456789012","digestStartTime":"2024-08-01T12:30:00Z","logFiles":[]}"#,
    ),
    (
        "AWSLogs/123456789012/CloudTrail/us-east-1/2024/08/01/123456789012_CloudTrail_us-east-1_20240801T1235Z_not-cloudtrail.json.gz",
        CONFIG_HISTORY,
    ),
];
/// An AWS Config history file: JSON, but not CloudTrail.
const CONFIG_HISTORY: &str = r#"{"fileVersion":"1.0","configurationItems":[{"configurationItemVersion":"1.3","accountId":"123456789012","resourceType":"AWS::EC2::Volume","resourceId":"vol-0abc","awsRegion":"us-east-1"}]}"#;

/// The key of the object the fault proxy throttles: a copy of the log file, so that only the
/// throttling can fail its task.
const THROTTLED: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/08/01/throttled.json.gz";

// Multi-threaded: the fault proxy's tasks run while the test waits for `cargo lambda invoke`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_every_sample_event_runs_inside_the_lambda_emulator() {
    let moto = support::moto::moto();
    require_cargo_lambda();
    let c = support::moto::clients(moto).await;
    let topic = support::moto::topic(&c, false).await;
    c.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let log = std::fs::read(LOG).unwrap();
    for key in [KEY, THROTTLED] {
        c.s3.put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(log.clone()))
            .send()
            .await
            .unwrap();
    }
    // Present, so that only the key layout can skip them.
    for (key, text) in LOG_ARCHIVE_OBJECTS {
        c.s3.put_object()
            .bucket(BUCKET)
            .key(*key)
            .body(ByteStream::from(support::gzip::gzip(text.as_bytes())))
            .send()
            .await
            .unwrap();
    }
    let proxy = Proxy::start(moto.endpoint.trim_start_matches("http://")).await;
    proxy.inject(
        Kind::GetObject,
        Some("throttled.json.gz"),
        Fault::S3Error(503, "SlowDown"),
        None,
    );

    let port = free_port();
    let watch = start_watch(port, &proxy.endpoint, &topic.arn, &[]);

    let mut files: Vec<String> = std::fs::read_dir("events")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let listed: Vec<&str> = EXPECTED.iter().map(|(f, _, _)| *f).collect();
    assert_eq!(
        files, listed,
        "every file in events/ has an expectation here"
    );

    let mut corpus_ids: Option<Vec<String>> = None;
    for (file, published, sqs) in EXPECTED {
        let out = invoke(port, &Path::new("events").join(file));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{file}: {}\n{stdout}\nwatch log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            read(&watch.log)
        );
        let response: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{file}: {e}: {stdout}"));
        if *file == LOG_ARCHIVE {
            // The file under a CloudTrail key that is not CloudTrail fails (it goes back to
            // the queue, then to the dead-letter queue); the others are read or skipped.
            assert_eq!(
                response,
                json!({"batchItemFailures": [
                    {"itemIdentifier": "0b9d5c0e-5f3a-4d47-9a7e-1c1f7a0c0005"}
                ]}),
                "{file}"
            );
        } else if *sqs {
            assert_eq!(response, json!({"batchItemFailures": []}), "{file}");
        } else if file.starts_with("s3-batch-operations") {
            // S3 Batch Operations reads one result per task.
            assert_eq!(
                response["results"],
                json!([{"taskId": "dGFza2lkZ29lc2hlcmUK", "resultCode": "Succeeded",
                        "resultString": format!("{RECORDS} records, {CORPUS} findings, {CORPUS} published")}]),
                "{file}: {response}"
            );
        } else {
            assert_eq!(response["findings"], json!(published), "{file}: {response}");
            assert_eq!(
                response["published"],
                json!(published),
                "{file}: {response}"
            );
            assert_eq!(response["errors"], json!([]), "{file}: {response}");
        }
        let got = support::moto::receive(&c, &topic, *published).await;
        assert_eq!(got.len(), *published, "{file}: SNS messages");
        if *published == CORPUS {
            // The same log file through every path gives the same finding ids.
            let mut ids: Vec<String> = got.iter().map(|m| m.finding.finding_id.clone()).collect();
            ids.sort();
            match &corpus_ids {
                None => corpus_ids = Some(ids),
                Some(first) => assert_eq!(&ids, first, "{file}"),
            }
        }
    }

    // A failure inside the runtime: the object is missing, the invocation fails and says so.
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("missing-object.json");
    let mut event: Value = serde_json::from_str(&read("events/s3-notification.json")).unwrap();
    event["Records"][0]["s3"]["object"]["key"] =
        json!("AWSLogs/123456789012/CloudTrail/none.json.gz");
    std::fs::write(&missing, event.to_string()).unwrap();
    let out = invoke(port, &missing);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NoSuchKey") && stderr.contains("none.json.gz"),
        "{stderr}"
    );

    // An S3 Batch Operations job whose second task names a missing object and whose third is
    // throttled on every attempt: the invocation succeeds and answers each task, the first
    // Succeeded (its findings on SNS), the second PermanentFailure and the third
    // TemporaryFailure (Batch Operations retries those), each with its reason for the job's
    // completion report.
    let mixed = Path::new(env!("CARGO_TARGET_TMPDIR")).join("batch-with-a-missing-object.json");
    let mut event: Value =
        serde_json::from_str(&read("events/s3-batch-operations-2.0.json")).unwrap();
    let mut gone = event["tasks"][0].clone();
    gone["taskId"] = json!("bWlzc2luZwo");
    gone["s3Key"] = json!("AWSLogs/123456789012/CloudTrail/none.json.gz");
    event["tasks"].as_array_mut().unwrap().push(gone);
    let mut throttled = event["tasks"][0].clone();
    throttled["taskId"] = json!("dGhyb3R0bGVk");
    throttled["s3Key"] = json!(THROTTLED);
    event["tasks"].as_array_mut().unwrap().push(throttled);
    std::fs::write(&mixed, event.to_string()).unwrap();
    let out = invoke(port, &mixed);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response: Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<(&str, &str)> = response["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["taskId"].as_str().unwrap(),
                r["resultCode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("dGFza2lkZ29lc2hlcmUK", "Succeeded"),
            ("bWlzc2luZwo", "PermanentFailure"),
            ("dGhyb3R0bGVk", "TemporaryFailure")
        ],
        "{response}"
    );
    assert!(
        response["results"][1]["resultString"]
            .as_str()
            .unwrap()
            .contains("NoSuchKey"),
        "{response}"
    );
    let throttled = response["results"][2]["resultString"].as_str().unwrap();
    assert!(
        throttled.contains("SlowDown") && throttled.contains("throttled.json.gz"),
        "{response}"
    );
    // The SDK's standard retry (3 attempts) ran inside the function before it answered.
    assert_eq!(proxy.gets("throttled.json.gz"), 3);
    assert_eq!(
        support::moto::receive(&c, &topic, CORPUS).await.len(),
        CORPUS
    );

    // Logs are JSON with the request id, one summary line and one metrics line per invocation.
    let log = read(&watch.log);
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    let summaries: Vec<&Value> = lines
        .iter()
        .filter(|v| v["fields"]["message"] == "invocation summary")
        .collect();
    assert_eq!(summaries.len(), EXPECTED.len() + 2, "{log}");
    assert!(
        summaries.iter().all(|s| s["span"]["requestId"].is_string()),
        "{log}"
    );
    let metrics = lines
        .iter()
        .filter(|v| v["_aws"]["CloudWatchMetrics"].is_array())
        .count();
    assert_eq!(metrics, EXPECTED.len() + 2, "{log}");

    // The log-archive batch: three files skipped by their key, counted in the summary and in
    // the ObjectsSkipped metric; two read, one of them not CloudTrail.
    let at = EXPECTED
        .iter()
        .position(|(f, _, _)| *f == LOG_ARCHIVE)
        .unwrap();
    let summary = &summaries[at]["fields"];
    assert_eq!(summary["trigger"], "sqs", "{summary}");
    assert_eq!(summary["units"], 5, "{summary}");
    assert_eq!(summary["failed_units"], 1, "{summary}");
    assert_eq!(summary["skipped"], 3, "{summary}");
    assert_eq!(summary["objects"], 2, "{summary}");
    assert_eq!(summary["not_cloudtrail"], 1, "{summary}");
    assert_eq!(summary["published"], CORPUS, "{summary}");
    let emf: Vec<&Value> = lines
        .iter()
        .filter(|v| v["_aws"]["CloudWatchMetrics"].is_array())
        .collect();
    let metrics = emf[at];
    assert_eq!(metrics["ObjectsSkipped"], 3.0, "{metrics}");
    assert_eq!(metrics["ObjectsRead"], 2.0, "{metrics}");
    assert_eq!(metrics["NotCloudTrail"], 1.0, "{metrics}");
    assert_eq!(metrics["FailedUnits"], 1.0, "{metrics}");
    // Each skip says which service the layout proves the file belongs to.
    for why in [
        "an AWS Config file (folder Config/",
        "a CloudTrail digest file",
    ] {
        assert!(log.contains(why), "no {why:?} in the log:\n{log}");
    }
    assert_eq!(
        log.matches("an AWS Config file (folder Config/").count(),
        2,
        "{log}"
    );
}
