//! One alert per finding, whatever the path, against moto's DynamoDB, SNS, SQS and S3 with the
//! real SDK clients: the same share through EventBridge, a log file in S3 and a `scan
//! --publish` back-fill is one SNS message; two paths at once give one message and lose
//! nothing; an unreachable table fails the invocation and its retry delivers.

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_s3::primitives::ByteStream;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use snapshot_share_detector::aws::{self, ClientSettings, Timeouts};
use snapshot_share_detector::config::Settings;
use snapshot_share_detector::lambda::Handler;
use snapshot_share_detector::pipeline::Pipeline;
use snapshot_share_detector::sink::{Dedup, DynamoLedger, SnsSink};
use snapshot_share_detector::source::S3Store;
use support::moto::{
    clients, handle, moto, receive, sdk_config, topic, unique, AtMoto, Clients, Topic,
};
use support::records::json_file;

const SHARE: &str = "events/eventbridge-share-foreign-account.json";

type DedupHandler = Handler<Dedup<SnsSink, DynamoLedger>, S3Store>;

struct Env {
    c: Clients,
    topic: Topic,
    bucket: String,
    table: String,
    endpoint: String,
}

async fn setup() -> Env {
    let moto = moto();
    let c = clients(moto).await;
    let topic = topic(&c, false).await;
    let bucket = unique("trail");
    c.s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let table = unique("dedup");
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config(&moto.endpoint).await);
    dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("finding_id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("finding_id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    Env {
        c,
        topic,
        bucket,
        table,
        endpoint: moto.endpoint.clone(),
    }
}

impl Env {
    /// The function's DynamoDB client as production builds it, pointed at `endpoint`.
    async fn ledger(&self, endpoint: &str, table: &str) -> DynamoLedger {
        let settings = ClientSettings {
            endpoint_url: Some(endpoint.to_owned()),
            timeouts: Timeouts {
                connect: Duration::from_secs(1),
                publish_attempt: Duration::from_secs(2),
                publish: Duration::from_secs(6),
            },
            retry_partition: Some(unique("dedup")),
            ..ClientSettings::default()
        };
        let client = aws::dynamodb_from(&sdk_config(&self.endpoint).await, &settings);
        DynamoLedger::new(client, table)
    }

    async fn handler_with(&self, ledger: DynamoLedger) -> DedupHandler {
        let sink = Dedup::new(SnsSink::new(self.c.sns.clone(), &self.topic.arn), ledger);
        let store = S3Store::new(self.c.s3.clone());
        Handler::new(Pipeline::new(sink, Some(store), Settings::default()), 4)
    }

    async fn handler(&self) -> DedupHandler {
        self.handler_with(self.ledger(&self.endpoint, &self.table).await)
            .await
    }
}

fn log_gz(records: &[Value]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&serde_json::to_vec(&json!({ "Records": records })).unwrap())
        .unwrap();
    enc.finish().unwrap()
}

fn s3_notification(bucket: &str, key: &str, size: usize) -> Value {
    let mut v = json_file("events/s3-notification.json");
    v["Records"][0]["s3"]["bucket"]["name"] = json!(bucket);
    v["Records"][0]["s3"]["bucket"]["arn"] = json!(format!("arn:aws:s3:::{bucket}"));
    v["Records"][0]["s3"]["object"]["key"] = json!(key);
    v["Records"][0]["s3"]["object"]["size"] = json!(size);
    v
}

/// The sample share with another event id, so that each test has findings of its own.
fn share(event_id: &str) -> Value {
    let mut event = json_file(SHARE);
    event["detail"]["eventID"] = json!(event_id);
    event
}

#[tokio::test]
async fn aws_the_same_share_through_eventbridge_a_log_file_and_a_backfill_is_one_message() {
    let env = setup().await;
    let event = share(&unique("three-paths"));
    let record = event["detail"].clone();

    // Real time: the EventBridge event.
    let h = env.handler().await;
    let (response, summary) = handle(&h, event.clone()).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(
        (
            summary.tally.findings,
            summary.tally.published,
            summary.tally.duplicates
        ),
        (1, 1, 0)
    );

    // Minutes later: the trail's log file with the same record, through an S3 notification
    // to another execution environment (its own handler and clients, the same table).
    let noise = json!({"eventVersion": "1.09", "eventID": "noise", "eventSource": "s3.amazonaws.com",
                       "eventName": "GetObject", "awsRegion": "us-east-1"});
    let body = log_gz(&[noise, record.clone()]);
    let key = "AWSLogs/756680937392/CloudTrail/us-east-1/2024/08/01/one.json.gz";
    let size = body.len();
    env.c
        .s3
        .put_object()
        .bucket(&env.bucket)
        .key(key)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let h2 = env.handler().await;
    let (response, summary) = handle(&h2, s3_notification(&env.bucket, key, size)).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(
        (
            summary.tally.findings,
            summary.tally.published,
            summary.tally.duplicates
        ),
        (1, 0, 1),
        "the log file's copy is a duplicate"
    );
    assert!(summary.tally.is_clean());

    // A back-fill of the same log file with `scan --publish`, honouring the same table.
    let dir = std::env::temp_dir().join(unique("backfill"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("one.json.gz");
    std::fs::write(&file, &body).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
        .args(["scan", "--publish", file.to_str().unwrap()])
        .env("FINDINGS_TOPIC_ARN", &env.topic.arn)
        .env("DEDUP_TABLE", &env.table)
        .at_moto(&env.endpoint)
        .env_remove("TRUSTED_ACCOUNT_IDS")
        .env_remove("ORGANIZATION_ACCOUNTS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("1 findings, 0 published, 1 already published"),
        "{stderr}"
    );
    // stdout still shows what the scan found.
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    std::fs::remove_dir_all(&dir).ok();

    let got = receive(&env.c, &env.topic, 1).await;
    assert_eq!(got.len(), 1, "one message for three paths: {got:#?}");
    assert_eq!(
        got[0].finding.event.id.as_deref(),
        record["eventID"].as_str()
    );
}

#[tokio::test]
async fn aws_two_paths_at_once_give_one_message_and_lose_none() {
    let env = setup().await;
    // Two execution environments with their own clients, one table, many races.
    let a = env.handler().await;
    let b = env.handler().await;
    const RACES: usize = 8;
    let mut in_flight = 0;
    for i in 0..RACES {
        let event = share(&unique(&format!("race-{i}")));
        let ((ra, sa), (rb, sb)) =
            tokio::join!(handle(&a, event.clone()), handle(&b, event.clone()));
        let published = sa.tally.published + sb.tally.published;
        assert!(published <= 1, "race {i}: published twice");
        // A path that found the other's reservation in flight failed, so that it is retried;
        // its retry (Lambda's, later) finds the finding published, or publishes it.
        for (response, summary, h) in [(ra, sa, &a), (rb, sb, &b)] {
            if let Err(error) = response {
                in_flight += 1;
                let error = error.to_string();
                assert!(error.contains("another path"), "{error}");
                assert_eq!(summary.tally.undelivered, 1);
                let (retry, s) = handle(h, event.clone()).await;
                assert!(retry.is_ok(), "{retry:?}");
                assert_eq!(s.tally.published + s.tally.duplicates, 1);
            } else {
                assert_eq!(
                    summary.tally.published + summary.tally.duplicates,
                    1,
                    "race {i}: neither published nor a duplicate"
                );
            }
        }
    }
    eprintln!("{in_flight} of {RACES} races found the other path in flight");
    let got = receive(&env.c, &env.topic, RACES).await;
    let mut ids: Vec<String> = got.iter().map(|m| m.finding.finding_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        got.len(),
        RACES,
        "one message per share ({in_flight} in flight)"
    );
    assert_eq!(ids.len(), RACES);
}

#[tokio::test]
async fn aws_an_unreachable_table_fails_the_invocation_and_the_retry_delivers() {
    let env = setup().await;
    let event = share(&unique("unreachable"));
    // A port nobody listens on.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let down = env
        .handler_with(env.ledger(&closed, &env.table).await)
        .await;
    let (response, summary) = handle(&down, event.clone()).await;
    let error = response.unwrap_err().to_string();
    assert!(error.contains("idempotency store"), "{error}");
    assert_eq!(
        (
            summary.tally.published,
            summary.tally.undelivered,
            summary.failed_units
        ),
        (0, 1, 1)
    );

    // A table that does not exist (deleted, a wrong name) fails the same way.
    let missing = env
        .handler_with(env.ledger(&env.endpoint, "no-such-table").await)
        .await;
    let (response, _) = handle(&missing, event.clone()).await;
    let error = response.unwrap_err().to_string();
    assert!(error.contains("ResourceNotFound"), "{error}");
    assert!(
        receive(&env.c, &env.topic, 0).await.is_empty(),
        "nothing sent unchecked"
    );

    // Lambda's retry, the table reachable again, delivers; one more retry is a duplicate.
    let up = env.handler().await;
    let (response, summary) = handle(&up, event.clone()).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(summary.tally.published, 1);
    let (_, again) = handle(&up, event).await;
    assert_eq!((again.tally.published, again.tally.duplicates), (0, 1));
    assert_eq!(receive(&env.c, &env.topic, 1).await.len(), 1);
}
