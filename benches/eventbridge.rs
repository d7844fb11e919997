//! CPU cost of the EventBridge path: one "AWS API Call via CloudTrail" event from raw bytes to
//! the SNS `PublishBatch` entries, without the network. Run: `cargo bench --bench eventbridge`.
//!
//! The steps are those of the Lambda handler: parse the payload, classify the envelope, view
//! the record, apply the rule, build each finding and its SNS entry.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::Value;
use snapshot_share_detector::cloudtrail::Record;
use snapshot_share_detector::rule::{self, TrustedAccounts};
use snapshot_share_detector::sink::sns::batch_entry;
use snapshot_share_detector::trigger::{self, Work};

/// The handler's work on one event, minus the network; returns the SNS entries.
fn handle(bytes: &[u8], trusted: &TrustedAccounts) -> usize {
    let payload: Value = serde_json::from_slice(bytes).expect("sample events are JSON");
    let invocation = trigger::classify(payload);
    let mut entries = 0;
    for unit in &invocation.units {
        for work in &unit.work {
            let Work::Record { record, account } = work else {
                continue;
            };
            let Some(view) = Record::new(record) else {
                continue;
            };
            let findings = rule::detect(&view, account.as_deref(), trusted, None);
            for (id, finding) in findings.iter().enumerate() {
                black_box(batch_entry(id, finding, false).expect("valid entry"));
                entries += 1;
            }
        }
    }
    entries
}

fn bench(c: &mut Criterion) {
    let trusted = TrustedAccounts::default();
    let mut group = c.benchmark_group("eventbridge");
    group.throughput(Throughput::Elements(1));
    for (name, expected) in [
        ("eventbridge-share-foreign-account", 1),
        ("eventbridge-share-public", 1),
        ("eventbridge-share-self", 0),
        ("eventbridge-share-removed", 1),
    ] {
        let bytes = std::fs::read(format!("events/{name}.json")).expect("sample event");
        assert_eq!(handle(&bytes, &trusted), expected, "{name}");
        group.bench_function(name, |b| b.iter(|| handle(black_box(&bytes), &trusted)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
