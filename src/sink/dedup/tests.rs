//! Unit tests of the parent module.

use super::*;
use crate::sink::ledger::MemoryLedger;
use crate::sink::Memory;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use tokio::sync::Notify;

fn findings(event_id: &str, targets: &[&str]) -> Vec<Finding> {
    crate::testing::share_findings(event_id, targets)
}

/// A sink that fails while `failing` is set, and can hold a publish until released.
#[derive(Default)]
struct Gate {
    memory: Memory,
    failing: AtomicBool,
    hold: Option<(Arc<Notify>, Arc<Notify>)>,
}

impl Sink for Gate {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        Box::pin(self.deliver(findings))
    }
}

impl Gate {
    async fn deliver(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        if let Some((entered, release)) = &self.hold {
            entered.notify_one();
            release.notified().await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(PublishError {
                attempted: findings.len(),
                failed: findings.len(),
                reason: "topic down".to_owned(),
                ..PublishError::default()
            });
        }
        self.memory.publish(findings).await
    }
}

#[tokio::test]
async fn a_finding_is_published_once_and_its_copies_are_counted() {
    let sink = Dedup::new(Memory::default(), MemoryLedger::default());
    let mut batch = findings("e1", &["111122223333", "444455556666"]);
    batch.push(batch[0].clone()); // the same record twice in one file
    let first = sink.publish(batch.clone()).await.unwrap();
    assert_eq!((first.delivered, first.duplicates), (2, 1));
    let again = sink.publish(batch).await.unwrap();
    assert_eq!((again.delivered, again.duplicates), (0, 3));
    assert_eq!(sink.inner().take().len(), 2);
}

#[tokio::test]
async fn an_unreachable_store_fails_the_findings_and_the_retry_delivers() {
    let sink = Dedup::new(Memory::default(), MemoryLedger::default());
    sink.ledger().set_unreachable(true);
    let batch = findings("e2", &["111122223333"]);
    let e = sink.publish(batch.clone()).await.unwrap_err();
    assert_eq!((e.attempted, e.failed, e.delivered()), (1, 1, 0));
    assert!(e.reason.contains("unreachable"), "{e}");
    assert!(sink.inner().take().is_empty(), "nothing sent unchecked");
    sink.ledger().set_unreachable(false);
    assert_eq!(sink.publish(batch).await.unwrap().delivered, 1);
    assert_eq!(sink.inner().take().len(), 1);
}

#[tokio::test]
async fn a_failed_publish_releases_the_reservation_for_the_retry() {
    let sink = Dedup::new(Gate::default(), MemoryLedger::default());
    let batch = findings("e3", &["111122223333"]);
    sink.inner().failing.store(true, Ordering::SeqCst);
    let e = sink.publish(batch.clone()).await.unwrap_err();
    assert_eq!(e.failed, 1);
    assert!(!sink.ledger().is_published(&batch[0].finding_id));
    sink.inner().failing.store(false, Ordering::SeqCst);
    // At once, well within the lease: the failed path let go of it.
    assert_eq!(sink.publish(batch.clone()).await.unwrap().delivered, 1);
    assert!(sink.ledger().is_published(&batch[0].finding_id));
}

#[tokio::test]
async fn a_reservation_in_flight_fails_the_other_path_until_published() {
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let ledger = Arc::new(MemoryLedger::default());
    let slow = Dedup::new(
        Gate {
            hold: Some((entered.clone(), release.clone())),
            ..Gate::default()
        },
        ledger.clone(),
    );
    let fast = Dedup::new(Memory::default(), ledger.clone());
    let batch = findings("e4", &["111122223333"]);
    let first = {
        let batch = batch.clone();
        let slow = &slow;
        async move { slow.publish(batch).await }
    };
    let second = async {
        entered.notified().await;
        // The slow path holds the reservation and has not published: in flight.
        let e = fast.publish(batch.clone()).await.unwrap_err();
        assert!(e.reason.contains("another path"), "{e}");
        release.notify_one();
    };
    let (first, ()) = tokio::join!(first, second);
    assert_eq!(first.unwrap().delivered, 1);
    // The retry of the failed path sees it published.
    let retry = fast.publish(batch).await.unwrap();
    assert_eq!((retry.delivered, retry.duplicates), (0, 1));
    assert_eq!(slow.inner().memory.take().len(), 1);
    assert!(fast.inner().take().is_empty());
}

#[tokio::test]
async fn a_path_that_died_holding_a_reservation_delays_the_finding_by_its_lease() {
    let ledger = MemoryLedger::default();
    let batch = findings("e5", &["111122223333"]);
    let now = epoch_ms();
    // A path reserved it and crashed before publishing.
    let dead = Reservation {
        finding_id: &batch[0].finding_id,
        token: "dead",
        now_ms: now,
        lease_until_ms: now + 300,
        expires_at: now / 1000 + 60,
    };
    assert_eq!(ledger.reserve(&dead).await.unwrap(), Claim::Reserved);
    let sink = Dedup::new(Memory::default(), ledger);
    assert!(sink.publish(batch.clone()).await.is_err(), "in flight");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sink.publish(batch).await.unwrap().delivered, 1);
}
