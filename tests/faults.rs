//! Faults between the SDK and AWS, injected by a small HTTP proxy of the tests' own that sits
//! on loopback between the function's SDK clients and moto (`tests/support/proxy.rs`): SNS
//! `Throttling`, 500, 503, a connection reset, an answer that never comes, a `PublishBatch`
//! with some entries `Failed`; S3 `NoSuchKey`, `AccessDenied`, `SlowDown`, a `GetObject` body
//! cut after some bytes. The proxy counts the requests of each kind and the `PublishBatch`
//! entries moto accepted, so that what was sent can be counted against what arrived in the
//! queue subscribed to the topic.
//!
//! What is shown, for each fault: a transient one is retried and everything is delivered
//! exactly once; a persistent one fails the invocation (or the SQS message) with an error that
//! says how many findings are undelivered or which object could not be read and why; the
//! same event delivered again once the fault is gone delivers every finding, with the finding
//! ids of a clean reference run. Nothing is lost.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};
use snapshot_share_detector::aws::{self, ClientSettings, Timeouts};
use snapshot_share_detector::config::Settings;
use snapshot_share_detector::lambda::Handler;
use snapshot_share_detector::metrics::Summary;
use snapshot_share_detector::pipeline::Pipeline;
use snapshot_share_detector::sink::{Memory, SnsSink};
use snapshot_share_detector::source::S3Store;
use support::gzip::log_gz;
use support::moto::{
    clients, handle, moto, receive, sdk_config, topic, unique, Clients, Moto, Received, Topic,
};
use support::proxy::{Fault, Kind, Proxy};
use support::records::{json_file, noise, sample_share, share, trail_key};

/// Bound on one SNS attempt of the function's client (production: 10 s), short so that a
/// stalled answer costs little test time.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts per SDK call (the SDK's default, which production keeps).
const MAX_ATTEMPTS: usize = 3;

// ---------------------------------------------------------------------------------------------
// The function under test, its clients going through the proxy.

/// The function's S3 and SNS clients, pointed at the proxy, built as production builds them
/// (`aws::clients`: the SDK's standard retries, 3 attempts) with shorter timeouts, and a retry
/// quota of their own so that one test's failures do not throttle another's retries.
async fn function_clients(endpoint: &str) -> (aws_sdk_s3::Client, aws_sdk_sns::Client) {
    let settings = ClientSettings {
        s3_force_path_style: true,
        endpoint_url: Some(endpoint.to_owned()),
        timeouts: Timeouts {
            connect: Duration::from_secs(1),
            publish_attempt: ATTEMPT_TIMEOUT,
            publish: Duration::from_secs(15),
        },
        retry_partition: Some(unique("faults")),
        ..ClientSettings::default()
    };
    aws::clients_from(&sdk_config(endpoint).await, &settings)
}

struct Env {
    /// Clients talking to moto directly: to set up and to verify.
    c: Clients,
    topic: Topic,
    proxy: Proxy,
    /// The function: S3 and SNS through the proxy.
    handler: Handler<SnsSink, S3Store>,
    /// The same function with an in-memory sink and S3 straight from moto: the clean run.
    reference: Handler<Memory, S3Store>,
}

async fn setup() -> Env {
    let moto: &Moto = moto();
    let c = clients(moto).await;
    let topic = topic(&c, false).await;
    let proxy = Proxy::start(moto.endpoint.trim_start_matches("http://")).await;
    let (s3, sns) = function_clients(&proxy.endpoint).await;
    let sink = SnsSink::new(sns, &topic.arn);
    let handler = Handler::new(
        Pipeline::new(sink, Some(S3Store::new(s3)), Settings::default()),
        4,
    );
    let store = S3Store::new(c.s3.clone());
    let reference = Handler::new(
        Pipeline::new(Memory::default(), Some(store), Settings::default()),
        4,
    );
    Env {
        c,
        topic,
        proxy,
        handler,
        reference,
    }
}

impl Env {
    /// The sorted finding ids of a clean run of `payload`.
    async fn reference_ids(&self, payload: &Value) -> Vec<String> {
        let (response, _) = self.reference.handle(payload.clone()).await;
        assert!(response.is_ok(), "reference run: {response:?}");
        let mut ids: Vec<String> = self
            .reference
            .pipeline()
            .sink()
            .take()
            .into_iter()
            .map(|f| f.finding_id)
            .collect();
        ids.sort();
        ids
    }
}

/// Arrived finding ids: each id and how many times it arrived.
fn tally(got: &[Received]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for m in got {
        *counts.entry(m.finding.finding_id.clone()).or_default() += 1;
    }
    counts
}

/// Checks the books: every expected finding arrived, nothing else did, what the proxy saw
/// moto accept is what arrived, and returns the ids that arrived more than once.
fn check_books(label: &str, env: &Env, reference: &[String], got: &[Received]) -> usize {
    let counts = tally(got);
    let ids: Vec<&String> = counts.keys().collect();
    let lost: Vec<&String> = reference
        .iter()
        .filter(|r| !counts.contains_key(*r))
        .collect();
    assert!(lost.is_empty(), "{label}: lost {lost:?}");
    assert_eq!(
        ids,
        reference.iter().collect::<Vec<_>>(),
        "{label}: arrived ids are the reference ids"
    );
    assert_eq!(
        env.proxy.delivered(),
        got.len(),
        "{label}: entries moto accepted = messages arrived"
    );
    let duplicated = counts.values().filter(|&&n| n > 1).count();
    assert!(
        counts.values().all(|&n| n <= 2),
        "{label}: at most two copies of a finding: {counts:?}"
    );
    eprintln!(
        "[faults] {label}: expected {}, published {} (distinct {}), duplicated {duplicated}, lost 0",
        reference.len(),
        got.len(),
        counts.len()
    );
    duplicated
}

// ---------------------------------------------------------------------------------------------
// SNS faults.

/// Findings in the SNS event: more than one `PublishBatch` holds.
const TARGETS: usize = 12;

/// A CloudTrail share (via EventBridge) with [`TARGETS`] foreign accounts: 12 findings, two
/// `PublishBatch` calls (10 + 2).
fn many_targets_event(tag: u64) -> Value {
    let targets: Vec<String> = (0..TARGETS as u64)
        .map(|i| format!("{:012}", 300_000_000_000 + tag * 100 + i))
        .collect();
    sample_share(&targets)
}

fn assert_summary(label: &str, s: &Summary, published: usize, undelivered: usize) {
    assert_eq!(
        (s.tally.findings, s.tally.published, s.tally.undelivered),
        (TARGETS as u64, published as u64, undelivered as u64),
        "{label}: {s:?}"
    );
}

/// A fault for the first `times` publish requests: the SDK (or the sink, for failed entries)
/// retries, the invocation succeeds, every finding arrives exactly once.
async fn transient_publish_fault(label: &str, fault: Fault, times: usize, publish_calls: usize) {
    let env = setup().await;
    let event = many_targets_event(times as u64);
    let reference = env.reference_ids(&event).await;
    assert_eq!(reference.len(), TARGETS);
    env.proxy.inject(Kind::Publish, None, fault, Some(times));
    let started = Instant::now();
    let (response, summary) = handle(&env.handler, event).await;
    eprintln!("[faults] {label}: handled in {:?}", started.elapsed());
    assert!(response.is_ok(), "{label}: {response:?}");
    assert_summary(label, &summary, TARGETS, 0);
    assert_eq!(env.proxy.injected(), times, "{label}: faults injected");
    assert_eq!(
        env.proxy.requests(Kind::Publish),
        publish_calls,
        "{label}: publish requests, retries included"
    );
    let got = receive(&env.c, &env.topic, TARGETS).await;
    assert_eq!(got.len(), TARGETS, "{label}: each finding exactly once");
    assert_eq!(check_books(label, &env, &reference, &got), 0);
}

/// A fault on every publish request: the invocation fails naming the undelivered findings;
/// the same event again, the fault gone, delivers them all with the reference ids.
async fn persistent_publish_fault(
    label: &str,
    fault: Fault,
    undelivered: usize,
    publish_calls: usize,
    reason: &[&str],
) {
    let env = setup().await;
    let event = many_targets_event(50 + undelivered as u64);
    let reference = env.reference_ids(&event).await;
    env.proxy.inject(Kind::Publish, None, fault, None);
    let started = Instant::now();
    let (response, summary) = handle(&env.handler, event.clone()).await;
    let error = response.unwrap_err().to_string();
    eprintln!(
        "[faults] {label}: failed in {:?}: {error}",
        started.elapsed()
    );
    assert!(
        error.starts_with(&format!("{undelivered} findings undelivered;")),
        "{label}: {error}"
    );
    assert!(
        error.contains(&format!(
            "{undelivered} of {TARGETS} findings could not be published"
        )),
        "{label}: {error}"
    );
    assert!(error.contains(&env.topic.arn), "{label}: {error}");
    for part in reason {
        assert!(error.contains(part), "{label}: {part:?} not in {error}");
    }
    assert_summary(label, &summary, TARGETS - undelivered, undelivered);
    assert_eq!(
        env.proxy.requests(Kind::Publish),
        publish_calls,
        "{label}: publish requests, retries included"
    );

    env.proxy.clear();
    let (response, summary) = handle(&env.handler, event).await;
    assert!(response.is_ok(), "{label}, retry: {response:?}");
    assert_summary(label, &summary, TARGETS, 0);

    let first = TARGETS - undelivered;
    let got = receive(&env.c, &env.topic, TARGETS + first).await;
    assert_eq!(got.len(), TARGETS + first, "{label}: first run + retry");
    // What the first run delivered comes again with the retry, under the same finding id.
    assert_eq!(check_books(label, &env, &reference, &got), first);
}

/// A fault on every publish request that fails whole calls: nothing is delivered, and only the
/// first batch's calls are made (once a whole call has failed past the SDK's retries, the
/// second batch is counted undelivered without being sent).
async fn every_call_fails(label: &str, fault: Fault, reason: &[&str]) {
    persistent_publish_fault(label, fault, TARGETS, MAX_ATTEMPTS, reason).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_throttling_twice_is_retried_and_delivered() {
    // Batch 1: throttled, throttled, accepted; batch 2: accepted.
    transient_publish_fault("SNS Throttling x2", Fault::Throttling, 2, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_persistent_throttling_fails_naming_the_undelivered_findings() {
    every_call_fails(
        "SNS Throttling persistent",
        Fault::Throttling,
        &["Throttling: Rate exceeded (HTTP 400)"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_500_is_retried_and_delivered() {
    transient_publish_fault("SNS 500 x1", Fault::ServerError(500), 1, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_persistent_500_fails_naming_the_undelivered_findings() {
    every_call_fails(
        "SNS 500 persistent",
        Fault::ServerError(500),
        &["InternalError", "HTTP 500"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_503_is_retried_and_delivered() {
    transient_publish_fault("SNS 503 x2", Fault::ServerError(503), 2, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_persistent_503_fails_naming_the_undelivered_findings() {
    every_call_fails(
        "SNS 503 persistent",
        Fault::ServerError(503),
        &["ServiceUnavailable", "HTTP 503"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_connection_reset_is_retried_and_delivered() {
    transient_publish_fault("SNS reset x1", Fault::Reset, 1, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_persistent_resets_fail_naming_the_undelivered_findings() {
    every_call_fails("SNS reset persistent", Fault::Reset, &["dispatch failure"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_slow_answer_times_out_and_is_retried() {
    transient_publish_fault("SNS stall x1", Fault::Stall, 1, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_answers_that_never_come_fail_naming_the_undelivered_findings() {
    every_call_fails("SNS stall persistent", Fault::Stall, &["timeout"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_failed_batch_entries_are_sent_again() {
    // Call 1: ids 0–9, of which 1, 4, 7 fail; call 2: 1, 4, 7 again (the sink's retry); call 3:
    // ids 10, 11.
    transient_publish_fault(
        "SNS partial batch x1",
        Fault::FailEntries {
            sender_fault: false,
        },
        1,
        3,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_entries_that_keep_failing_are_counted_as_undelivered() {
    // Ids 1, 4, 7 and 10 fail every round: 3 rounds per batch, 4 undelivered.
    persistent_publish_fault(
        "SNS partial batch persistent",
        Fault::FailEntries {
            sender_fault: false,
        },
        4,
        2 * 3,
        &["InternalError: Internal error: injected by the fault proxy"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_entries_failed_by_the_sender_are_not_sent_again() {
    // A sender fault is not retried by the sink: one call per batch.
    persistent_publish_fault(
        "SNS partial batch, sender fault",
        Fault::FailEntries { sender_fault: true },
        4,
        2,
        &["InvalidParameter"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_an_answer_lost_after_delivery_duplicates_with_the_same_finding_id() {
    // Batch 1 is delivered by moto, but its answer is a reset: the SDK sends it again. The
    // consumer sees batch 1 twice, with the same finding ids; nothing is lost.
    let label = "SNS reset after delivery x1";
    let env = setup().await;
    let event = many_targets_event(99);
    let reference = env.reference_ids(&event).await;
    env.proxy
        .inject(Kind::Publish, None, Fault::ResetAfterDelivery, Some(1));
    let (response, summary) = handle(&env.handler, event).await;
    assert!(response.is_ok(), "{response:?}");
    assert_summary(label, &summary, TARGETS, 0);
    assert_eq!(env.proxy.requests(Kind::Publish), 3);
    let got = receive(&env.c, &env.topic, TARGETS + 10).await;
    assert_eq!(got.len(), TARGETS + 10);
    assert_eq!(check_books(label, &env, &reference, &got), 10);
}

// ---------------------------------------------------------------------------------------------
// S3 faults: an SQS batch of three messages, each naming one object; the one of `b` faults.

/// An SQS batch (from the real envelope of the corpus) of one S3 notification per object.
fn sqs_batch(bucket: &str, objects: &[(&str, &str, u64)]) -> Value {
    let template = json_file("tests/fixtures/envelopes/sqs-s3_powertools-python_s3SqsEvent.json");
    let records: Vec<Value> = objects
        .iter()
        .map(|(message_id, key, size)| {
            let mut record = template["Records"][0].clone();
            record["messageId"] = json!(message_id);
            let mut body: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
            let s3 = &mut body["Records"][0]["s3"];
            s3["bucket"]["name"] = json!(bucket);
            s3["object"]["key"] = json!(key); // plain ASCII: nothing to encode
            s3["object"]["size"] = json!(size);
            s3["object"].as_object_mut().unwrap().remove("versionId");
            record["body"] = json!(body.to_string());
            record
        })
        .collect();
    json!({ "Records": records })
}

/// What a fault on object `b` should come to.
struct Expect {
    /// `b`'s message is in `batchItemFailures` (and is delivered again, fault gone).
    fails: bool,
    /// `GetObject` requests for `b` in the first invocation.
    gets: usize,
    /// Words of the error (besides bucket and key).
    reason: &'static [&'static str],
    /// Findings of `b` published by the first invocation.
    published_of_b: usize,
}

/// Objects `a`, `b`, `c`, two findings each (`b`: one near its start, one at its end, with
/// 3000 records between); the fault hits `b`'s `GetObject`.
async fn object_fault(
    label: &str,
    fault: impl FnOnce(u64) -> Fault,
    times: Option<usize>,
    e: Expect,
) {
    let env = setup().await;
    let bucket = unique("faults-trail");
    env.c
        .s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let mut objects = Vec::new();
    for name in ["a", "b", "c"] {
        let key = trail_key(&format!("{name}.json.gz"));
        let mut records: Vec<Value> = match name {
            "b" => (0..3000).map(noise).collect(),
            _ => (0..20).map(noise).collect(),
        };
        records.insert(5, share(&format!("{name}-first"), &["111122223333"]));
        records.push(share(&format!("{name}-last"), &["444455556666"]));
        let body = log_gz(&records);
        let size = body.len() as u64;
        env.c
            .s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        objects.push((format!("message-{name}"), key, size));
    }
    let refs: Vec<(&str, &str, u64)> = objects
        .iter()
        .map(|(m, k, s)| (m.as_str(), k.as_str(), *s))
        .collect();
    let batch = sqs_batch(&bucket, &refs);
    let reference = env.reference_ids(&batch).await;
    assert_eq!(reference.len(), 6);

    let (b_message, b_key, b_size) = refs[1];
    env.proxy
        .inject(Kind::GetObject, Some("/b.json.gz"), fault(b_size), times);
    let (response, summary) = handle(&env.handler, batch).await;
    let response = response.expect("an SQS invocation answers with its failures");
    assert_eq!(env.proxy.gets("/a.json.gz"), 1, "{label}");
    assert_eq!(env.proxy.gets("/c.json.gz"), 1, "{label}");
    assert_eq!(
        env.proxy.gets("/b.json.gz"),
        e.gets,
        "{label}: GetObject of b"
    );
    let mut expected_total = 6;
    if e.fails {
        assert_eq!(
            response,
            json!({"batchItemFailures": [{"itemIdentifier": b_message}]}),
            "{label}"
        );
        assert_eq!((summary.units, summary.failed_units), (3, 1), "{label}");
        assert_eq!(
            summary.tally.errors.len(),
            1,
            "{label}: {:?}",
            summary.tally.errors
        );
        let error = &summary.tally.errors[0].message;
        eprintln!("[faults] {label}: {error}");
        assert!(
            error.starts_with(&format!("s3://{bucket}/{b_key} ")),
            "{label}: {error}"
        );
        for part in e.reason {
            assert!(error.contains(part), "{label}: {part:?} not in {error}");
        }
        assert_eq!(
            summary.tally.published,
            4 + e.published_of_b as u64,
            "{label}"
        );

        // SQS delivers `b`'s message again; the fault is gone.
        env.proxy.clear();
        let again = sqs_batch(&bucket, &refs[1..2]);
        let (response, summary) = handle(&env.handler, again).await;
        assert_eq!(
            response.unwrap(),
            json!({"batchItemFailures": []}),
            "{label}"
        );
        assert_eq!(summary.tally.published, 2, "{label}");
        expected_total += e.published_of_b;
    } else {
        assert_eq!(response, json!({"batchItemFailures": []}), "{label}");
        assert!(
            summary.tally.errors.is_empty(),
            "{label}: {:?}",
            summary.tally.errors
        );
        assert_eq!(summary.tally.published, 6, "{label}");
    }
    let got = receive(&env.c, &env.topic, expected_total).await;
    assert_eq!(got.len(), expected_total, "{label}");
    assert_eq!(
        check_books(label, &env, &reference, &got),
        e.published_of_b,
        "{label}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_missing_object_fails_only_its_message() {
    object_fault(
        "S3 NoSuchKey",
        |_| Fault::S3Error(404, "NoSuchKey"),
        None,
        Expect {
            fails: true,
            gets: 1,
            reason: &["GetObject failed: NoSuchKey", "(HTTP 404)"],
            published_of_b: 0,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_denied_object_fails_only_its_message() {
    object_fault(
        "S3 AccessDenied",
        |_| Fault::S3Error(403, "AccessDenied"),
        None,
        Expect {
            fails: true,
            gets: 1,
            reason: &["GetObject failed: AccessDenied: Access Denied (HTTP 403)"],
            published_of_b: 0,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_slow_down_is_retried_by_the_sdk() {
    object_fault(
        "S3 SlowDown x1",
        |_| Fault::S3Error(503, "SlowDown"),
        Some(1),
        Expect {
            fails: false,
            gets: 2,
            reason: &[],
            published_of_b: 0,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_persistent_slow_down_fails_only_its_message() {
    object_fault(
        "S3 SlowDown persistent",
        |_| Fault::S3Error(503, "SlowDown"),
        None,
        Expect {
            fails: true,
            gets: MAX_ATTEMPTS,
            reason: &["GetObject failed: SlowDown", "(HTTP 503)"],
            published_of_b: 0,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_reset_get_object_is_retried_by_the_sdk() {
    object_fault(
        "S3 reset x1",
        |_| Fault::Reset,
        Some(1),
        Expect {
            fails: false,
            gets: 2,
            reason: &[],
            published_of_b: 0,
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_body_cut_mid_stream_fails_its_message_after_publishing_what_came_before() {
    // The body stops after half its bytes: the finding near the start is published, the one
    // at the end cannot be; the SDK does not retry a body, so the message fails, and its
    // redelivery publishes both (the first one again, with the same id).
    object_fault(
        "S3 body cut mid-stream",
        |size| Fault::CutAfter(size as usize / 2),
        Some(1),
        Expect {
            fails: true,
            gets: 1,
            reason: &["read failed after"],
            published_of_b: 1,
        },
    )
    .await;
}
