//! CloudTrail log files in S3, end to end against moto: an object put in a bucket, a real
//! trigger envelope from the corpus pointed at it, the handler, and the messages read back
//! from a queue subscribed to the findings topic.

mod support;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};
use snapshot_share_detector::config::Settings;
use snapshot_share_detector::lambda::Handler;
use snapshot_share_detector::pipeline::Pipeline;
use snapshot_share_detector::reader::Limits;
use snapshot_share_detector::sink::SnsSink;
use snapshot_share_detector::source::S3Store;
use support::gzip::log_gz;
use support::moto::{clients, handle, moto, receive, topic, unique, AtMoto, Clients, Topic};
use support::records::{json_file, log_file, noise, share, trail_key};

const ENVELOPES: &str = "tests/fixtures/envelopes";
/// The plain S3 notification of the corpus.
const S3_EVENT: &str = "s3-notification_powertools-python_s3Event.json";

struct Env {
    c: Clients,
    topic: Topic,
    bucket: String,
}

async fn setup() -> Env {
    let c = clients(moto()).await;
    let topic = topic(&c, false).await;
    let bucket = unique("trail");
    c.s3.create_bucket().bucket(&bucket).send().await.unwrap();
    Env { c, topic, bucket }
}

impl Env {
    fn handler(&self, settings: Settings) -> Handler<SnsSink, S3Store> {
        let sink = SnsSink::new(self.c.sns.clone(), &self.topic.arn);
        let store = S3Store::new(self.c.s3.clone());
        Handler::new(Pipeline::new(sink, Some(store), settings), 4)
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> u64 {
        let size = body.len() as u64;
        self.c
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        size
    }

    /// Puts `body` at `key` and returns the envelope `file` of the corpus, pointed at it.
    async fn notice(&self, file: &str, key: &str, body: Vec<u8>) -> Value {
        let size = self.put(key, body).await;
        envelope(file, &self.bucket, key, size)
    }
}

/// Form-URL encoding as S3 notifications carry keys: space as `+`, reserved bytes as `%XX`.
fn encode_key(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Points a real envelope from the corpus at `bucket`/`key`, at every level of nesting (JSON
/// carried in strings is decoded, changed and encoded again).
fn retarget(v: &mut Value, bucket: &str, key: &str, size: u64) {
    match v {
        Value::Object(map) => {
            if let Some(s3) = map.get_mut("s3") {
                s3["bucket"]["name"] = json!(bucket);
                s3["object"]["key"] = json!(encode_key(key));
                s3["object"]["size"] = json!(size);
                // The envelope's version belongs to another bucket; ours is not versioned.
                s3["object"].as_object_mut().unwrap().remove("versionId");
            }
            if map.get("detail-type").and_then(Value::as_str) == Some("Object Created") {
                map["detail"]["bucket"]["name"] = json!(bucket);
                map["detail"]["object"]["key"] = json!(key);
                map["detail"]["object"]["size"] = json!(size);
                map["detail"]["object"]
                    .as_object_mut()
                    .unwrap()
                    .remove("version-id");
            }
            if map.contains_key("s3Bucket") {
                map.insert("s3Bucket".into(), json!(bucket));
                map.insert("s3ObjectKey".into(), json!([key]));
            }
            for (_, child) in map.iter_mut() {
                retarget(child, bucket, key, size);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| retarget(i, bucket, key, size)),
        Value::String(text) => {
            if let Ok(mut inner @ Value::Object(_)) = serde_json::from_str::<Value>(text) {
                retarget(&mut inner, bucket, key, size);
                *text = serde_json::to_string(&inner).unwrap();
            }
        }
        _ => {}
    }
}

fn envelope(file: &str, bucket: &str, key: &str, size: u64) -> Value {
    let mut v = json_file(&format!("{ENVELOPES}/{file}"));
    retarget(&mut v, bucket, key, size);
    v
}

/// Every delivery path, each with its real envelope from the corpus.
#[tokio::test]
async fn aws_every_delivery_path_publishes_the_findings_of_the_object() {
    let env = setup().await;
    let h = env.handler(Settings::default());
    let paths = [
        ("s3-notification_aws-lambda-developer-guide_ExampleCloudTrailLog.json", "s3", false),
        (S3_EVENT, "s3", false),
        ("s3-notification_amazon-s3-developer-guide_ObjectCreatedPut.json", "s3", false),
        ("sqs-s3_powertools-python_s3SqsEvent.json", "sqs", true),
        ("sqs-s3_powertools-python-pr4069_sqs_s3_event.json", "sqs", true),
        ("sns-s3_powertools-python-pr4069_sns_s3_event.json", "sns", false),
        ("sqs-sns-s3_powertools-python-pr4069_sqs_sns_s3_event.json", "sqs", true),
        ("sqs-rawsns-s3_powertools-python-pr4069_sqs_rawsns_s3_event.json", "sqs", true),
        ("sqs-eventbridge-s3_powertools-python-pr4069_sqs_eb_s3_event.json", "sqs", true),
        ("eventbridge-s3-object-created_powertools-python_s3EventBridgeNotificationObjectCreatedEvent.json", "eventbridge-s3", false),
        ("eventbridge-s3-object-created_powertools-python-pr4069_eb_s3_event.json", "eventbridge-s3", false),
        ("cloudtrail-sns-delivery-message_aws-cloudtrail-user-guide_single.json", "cloudtrail-sns", false),
    ];
    for (i, (file, trigger, sqs)) in paths.iter().enumerate() {
        let key = trail_key(&format!("756680937392_CloudTrail_us-east-1_{i}.json.gz"));
        let mut records: Vec<Value> = (0..50).map(noise).collect();
        records.insert(20, share(&format!("path-{i}"), &["111122223333"]));
        let payload = env.notice(file, &key, log_gz(&records)).await;
        let (response, summary) = handle(&h, payload).await;
        let response = response.unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(summary.trigger.as_str(), *trigger, "{file}");
        assert_eq!(
            (
                summary.tally.objects,
                summary.tally.records,
                summary.tally.findings
            ),
            (1, 51, 1),
            "{file}"
        );
        if *sqs {
            assert_eq!(response, json!({"batchItemFailures": []}), "{file}");
        }
        let got = receive(&env.c, &env.topic, 1).await;
        assert_eq!(got.len(), 1, "{file}");
        assert_eq!(
            got[0].finding.event.id.as_deref(),
            Some(format!("path-{i}").as_str())
        );
        assert_eq!(
            got[0].finding.log.as_ref().unwrap().file.path,
            format!("s3://{}/{key}", env.bucket),
            "{file}"
        );
    }
}

#[tokio::test]
async fn aws_cloudtrail_delivery_notice_with_several_keys() {
    let env = setup().await;
    let h = env.handler(Settings::default());
    let mut keys = Vec::new();
    for i in 0..3 {
        let key = trail_key(&format!("multi_{i}.json.gz"));
        env.put(
            &key,
            log_gz(&[noise(i), share(&format!("multi-{i}"), &["111122223333"])]),
        )
        .await;
        keys.push(key);
    }
    let mut payload = json_file(&format!(
        "{ENVELOPES}/cloudtrail-sns-delivery-message_aws-cloudtrail-user-guide_multiple.json"
    ));
    payload["s3Bucket"] = json!(env.bucket);
    payload["s3ObjectKey"] = json!(keys);
    let (response, summary) = handle(&h, payload).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(
        (
            summary.tally.objects,
            summary.tally.findings,
            summary.tally.published
        ),
        (3, 3, 3)
    );
    assert_eq!(receive(&env.c, &env.topic, 3).await.len(), 3);
}

#[tokio::test]
async fn aws_one_missing_object_in_an_sqs_batch_fails_only_its_message() {
    let env = setup().await;
    let h = env.handler(Settings::default());
    let good = trail_key("good.json.gz");
    let missing = trail_key("missing.json.gz");
    // Two messages of a real SQS(S3) event: the first names the good object, the second a
    // key that does not exist.
    let mut batch = env
        .notice(
            "sqs-s3_powertools-python_s3SqsEvent.json",
            &good,
            log_gz(&[share("good", &["111122223333"])]),
        )
        .await;
    let mut second = batch["Records"][0].clone();
    second["messageId"] = json!("missing-object-message");
    let mut body: Value = serde_json::from_str(second["body"].as_str().unwrap()).unwrap();
    retarget(&mut body, &env.bucket, &missing, 10);
    second["body"] = json!(serde_json::to_string(&body).unwrap());
    batch["Records"].as_array_mut().unwrap().push(second);

    let (response, summary) = handle(&h, batch).await;
    let response = response.unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "missing-object-message"}]})
    );
    assert_eq!(summary.failed_units, 1);
    assert_eq!(summary.tally.errors.len(), 1, "{:?}", summary.tally.errors);
    let error = &summary.tally.errors[0].message;
    let (object, reason) = error.split_once(": ").unwrap();
    assert!(
        object.starts_with(&format!("s3://{}/{missing} (", env.bucket)),
        "{error}"
    );
    assert_eq!(
        reason,
        "GetObject failed: NoSuchKey: The specified key does not exist. (HTTP 404)"
    );
    let got = receive(&env.c, &env.topic, 1).await;
    assert_eq!(got.len(), 1, "the good object's finding is published");
}

#[tokio::test]
async fn aws_encoded_keys_are_decoded() {
    let env = setup().await;
    let h = env.handler(Settings::default());
    let key = trail_key("my logs/c++ trail:2024 (copy)=é.json.gz");
    let payload = env
        .notice(
            S3_EVENT,
            &key,
            log_gz(&[share("encoded", &["111122223333"])]),
        )
        .await;
    let raw_key = payload["Records"][0]["s3"]["object"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(raw_key.contains("my+logs") && raw_key.contains("c%2B%2B") && raw_key.contains("%3A"));
    let (response, summary) = handle(&h, payload).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(summary.tally.findings, 1);
    let got = receive(&env.c, &env.topic, 1).await;
    assert_eq!(
        got[0].finding.log.as_ref().unwrap().file.path,
        format!("s3://{}/{key}", env.bucket)
    );
}

#[tokio::test]
async fn aws_eventbridge_keys_are_tried_as_given_then_decoded() {
    let env = setup().await;
    let h = env.handler(Settings::default());
    let key = trail_key("with space.json.gz");
    let size = env
        .put(&key, log_gz(&[share("eb-key", &["111122223333"])]))
        .await;
    for given in [key.clone(), encode_key(&key)] {
        let file = "eventbridge-s3-object-created_powertools-python_s3EventBridgeNotificationObjectCreatedEvent.json";
        let mut payload = envelope(file, &env.bucket, &key, size);
        payload["detail"]["object"]["key"] = json!(given);
        let (response, summary) = handle(&h, payload).await;
        assert!(response.is_ok(), "{given}: {response:?}");
        assert_eq!(summary.tally.findings, 1, "{given}");
    }
    assert_eq!(receive(&env.c, &env.topic, 2).await.len(), 2);
}

#[tokio::test]
async fn aws_what_is_not_a_log_file_is_skipped_without_error() {
    let env = setup().await;
    let h = env.handler(Settings::default());
    // A share hidden in a digest or insights file must not be read (they are not log files).
    let digest = "AWSLogs/756680937392/CloudTrail-Digest/us-east-1/2024/08/01/d.json.gz".to_owned();
    let insight =
        "AWSLogs/756680937392/CloudTrail-Insight/us-east-1/2024/08/01/i.json.gz".to_owned();
    let folder = trail_key("");
    let empty = trail_key("empty.json.gz");
    for key in [&digest, &insight] {
        env.put(key, log_gz(&[share("hidden", &["111122223333"])]))
            .await;
    }
    env.put(&folder, Vec::new()).await;
    env.put(&empty, Vec::new()).await;
    for (key, size) in [(&digest, 100), (&insight, 100), (&folder, 0), (&empty, 0)] {
        let (response, summary) = handle(&h, envelope(S3_EVENT, &env.bucket, key, size)).await;
        assert!(response.is_ok(), "{key}: {response:?}");
        assert_eq!(
            (summary.tally.skipped, summary.tally.findings),
            (1, 0),
            "{key}"
        );
    }
    // An empty object whose notification does not say its size is read and holds nothing.
    let payload = {
        let mut p = envelope(S3_EVENT, &env.bucket, &empty, 0);
        p["Records"][0]["s3"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("size");
        p
    };
    let (response, summary) = handle(&h, payload).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(
        (
            summary.tally.objects,
            summary.tally.records,
            summary.tally.findings
        ),
        (1, 0, 0)
    );
    // The test event S3 sends when a notification is set up, alone and inside SQS.
    let test_event = json_file(&format!(
        "{ENVELOPES}/s3-test-event_amazon-s3-developer-guide_TestEvent.json"
    ));
    let (response, summary) = handle(&h, test_event.clone()).await;
    assert!(response.is_ok());
    assert_eq!(
        (summary.trigger.as_str(), summary.tally.skipped),
        ("s3-test", 1)
    );
    let mut sqs = json_file(&format!(
        "{ENVELOPES}/sqs-s3_powertools-python_s3SqsEvent.json"
    ));
    sqs["Records"][0]["body"] = json!(test_event.to_string());
    let (response, summary) = handle(&h, sqs).await;
    assert_eq!(response.unwrap(), json!({"batchItemFailures": []}));
    assert_eq!(summary.tally.skipped, 1);
    assert!(receive(&env.c, &env.topic, 0).await.is_empty());
}

#[tokio::test]
async fn aws_a_truncated_object_fails_after_publishing_what_came_before() {
    let env = setup().await;
    let h = env.handler(Settings::default());
    let mut records: Vec<Value> = (0..3000).map(noise).collect();
    records.insert(5, share("before-the-cut", &["111122223333"]));
    records.push(share("after-the-cut", &["444455556666"]));
    let mut gz = log_gz(&records);
    gz.truncate(gz.len() * 2 / 3);
    let key = trail_key("truncated.json.gz");
    let size = env.put(&key, gz).await;
    let payload = envelope(
        "sqs-s3_powertools-python_s3SqsEvent.json",
        &env.bucket,
        &key,
        size,
    );
    let message_id = payload["Records"][0]["messageId"].clone();
    let (response, summary) = handle(&h, payload).await;
    assert_eq!(
        response.unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": message_id}]})
    );
    assert_eq!(summary.tally.errors.len(), 1, "{:?}", summary.tally.errors);
    let error = &summary.tally.errors[0].message;
    let prefix = format!(
        "s3://{}/{key} ({size} bytes): read failed after ",
        env.bucket
    );
    let suffix = " decompressed bytes: gzip stream ends before its member does (truncated?)";
    assert!(
        error.starts_with(&prefix) && error.ends_with(suffix),
        "{error}"
    );
    let got = receive(&env.c, &env.topic, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].finding.event.id.as_deref(), Some("before-the-cut"));
}

#[tokio::test]
async fn aws_an_object_over_the_cap_is_an_error_naming_it() {
    let env = setup().await;
    let settings = Settings {
        limits: Limits {
            max_object_bytes: 64 << 10,
            ..Limits::default()
        },
        ..Settings::default()
    };
    let h = env.handler(settings);
    let records: Vec<Value> = (0..2000).map(noise).collect();
    let key = trail_key("big.json.gz");
    let payload = env.notice(S3_EVENT, &key, log_gz(&records)).await;
    let (response, _) = h.handle(payload).await;
    let error = response.unwrap_err().to_string();
    assert!(
        error.contains(&format!("s3://{}/{key}", env.bucket)),
        "{error}"
    );
    assert!(
        error.contains("MAX_OBJECT_BYTES") && error.contains("65536"),
        "{error}"
    );
}

#[tokio::test]
async fn aws_plain_json_objects_are_read_too() {
    let env = setup().await;
    let h = env.handler(Settings::default());
    let key = trail_key("plain.json");
    let body = log_file(&[share("plain", &["111122223333"])]);
    let payload = env.notice(S3_EVENT, &key, body).await;
    let (response, summary) = handle(&h, payload).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(summary.tally.findings, 1);
    assert_eq!(receive(&env.c, &env.topic, 1).await.len(), 1);
}

#[tokio::test]
async fn aws_the_corpus_log_file_from_s3() {
    let env = setup().await;
    let h = env.handler(Settings::default());
    let key = trail_key("all-corpus-records.json.gz");
    let body = std::fs::read("tests/fixtures/corpus/all-corpus-records.Records.json.gz").unwrap();
    let payload = env.notice(S3_EVENT, &key, body).await;
    let (response, summary) = handle(&h, payload).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(
        (
            summary.tally.records,
            summary.tally.findings,
            summary.tally.published
        ),
        // Five snapshot shares and one use (the Stratus SharedSnapshotCopyInitiated example),
        // four AMI and two RDS shares, two failed public shares.
        (892, 14, 14)
    );
    assert_eq!(receive(&env.c, &env.topic, 14).await.len(), 14);
}

#[tokio::test]
async fn aws_scan_reads_s3_objects_and_prefixes() {
    let moto = moto();
    let env = setup().await;
    for i in 0..3 {
        let key = trail_key(&format!("scan_{i}.json.gz"));
        env.put(
            &key,
            log_gz(&[noise(i), share(&format!("scan-{i}"), &["111122223333"])]),
        )
        .await;
    }
    env.put(
        "AWSLogs/756680937392/CloudTrail-Digest/us-east-1/2024/08/01/d.json.gz",
        log_gz(&[share("digest", &["111122223333"])]),
    )
    .await;
    let run = |url: String| {
        std::process::Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
            .args(["scan", &url])
            .at_moto(&moto.endpoint)
            .env_remove("FINDINGS_TOPIC_ARN")
            .output()
            .unwrap()
    };
    let prefix = run(format!("s3://{}/AWSLogs/", env.bucket));
    let stderr = String::from_utf8_lossy(&prefix.stderr);
    assert_eq!(prefix.status.code(), Some(0), "{stderr}");
    let ids: Vec<String> = String::from_utf8(prefix.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        ["scan-0", "scan-1", "scan-2"],
        "sorted, digest skipped"
    );
    let one = run(format!(
        "s3://{}/{}",
        env.bucket,
        trail_key("scan_1.json.gz")
    ));
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(String::from_utf8(one.stdout).unwrap().lines().count(), 1);
    let missing = run(format!("s3://{}/{}", env.bucket, trail_key("nope.json.gz")));
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    let url = format!("s3://{}/{}", env.bucket, trail_key("nope.json.gz"));
    let error = format!(
        "error: {url}: GetObject failed: NoSuchKey: The specified key does not exist. (HTTP 404)"
    );
    assert!(stderr.lines().any(|l| l == error), "{stderr}");
    assert!(
        stderr.contains("\nscanned 1 inputs (0 B): 0 records, 0 findings, 1 errors in "),
        "{stderr}"
    );
}
