//! Pacing at EC2's own limit. EC2 throttles each account and region per API action with a
//! token bucket: a Describe action holds 100 tokens and gets 20 more a second; past that it
//! answers `RequestLimitExceeded`. A client that keeps its own bucket of about the same size for
//! each action waits for a token instead of being refused, so that the audit is hardly ever
//! throttled and the SDK's retries stay for the rare case (another client in the account
//! spending the same tokens).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tokens of EC2's bucket the audit's own keeps back. A call paced to the very instant EC2's
/// token comes back reaches EC2 a network delay later, and that delay varies by a millisecond
/// or so from one request to the next: a call whose request travels a little faster than the
/// one before arrives before its token, and is refused. In step to the token, the audit of an
/// organization through `bench/audit_bench.py` had 3 to 4 % of its calls refused, each retried
/// after the SDK's back-off, and took 1.3 s more than the bucket's floor; one token in hand
/// (50 ms of slack at 20 a second) and none was refused, 0.5 s more than the floor.
const MARGIN: f64 = 1.0;

/// A bucket per action, for one account and region.
#[derive(Debug)]
pub struct Pace {
    capacity: f64,
    per_second: f64,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Pace {
    /// EC2's documented bucket for Describe actions, 100 tokens and 20 a second, less the
    /// [`MARGIN`] kept back.
    pub fn ec2() -> Self {
        Pace::new(100.0 - MARGIN, 20.0)
    }

    pub fn new(capacity: f64, per_second: f64) -> Self {
        Pace {
            capacity,
            per_second: per_second.max(f64::MIN_POSITIVE),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// How long to wait before a call of `action` may go, with its token taken now (so that
    /// concurrent callers queue behind one another instead of all waking at once).
    pub fn reserve(&self, action: &'static str, now: Instant) -> Duration {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(action).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.capacity);
        bucket.at = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / self.per_second)
        }
    }

    /// Waits for a token of `action`.
    pub async fn take(&self, action: &'static str) {
        let wait = self.reserve(action, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_gives_its_capacity_then_its_rate() {
        let pace = Pace::new(100.0, 20.0);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(
                pace.reserve("DescribeSnapshotAttribute", t0),
                Duration::ZERO
            );
        }
        // The 101st waits for one token (50 ms), the 120th for twenty (1 s).
        let w = pace.reserve("DescribeSnapshotAttribute", t0);
        assert_eq!(w, Duration::from_millis(50));
        for _ in 0..18 {
            pace.reserve("DescribeSnapshotAttribute", t0);
        }
        let w = pace.reserve("DescribeSnapshotAttribute", t0);
        assert_eq!(w.as_millis(), 1000);
        // Another action has a bucket of its own.
        assert_eq!(pace.reserve("DescribeImageAttribute", t0), Duration::ZERO);
        // A second later twenty tokens came back, all of them already promised.
        let w = pace.reserve("DescribeSnapshotAttribute", t0 + Duration::from_secs(1));
        assert_eq!(w.as_millis(), 50);
    }

    #[test]
    fn ec2s_bucket_is_followed_a_token_behind() {
        let pace = Pace::ec2();
        let t0 = Instant::now();
        for _ in 0..99 {
            assert_eq!(
                pace.reserve("DescribeSnapshotAttribute", t0),
                Duration::ZERO
            );
        }
        // The 100th waits for a token EC2 would still have had: the one kept in hand.
        let w = pace.reserve("DescribeSnapshotAttribute", t0);
        assert_eq!(w, Duration::from_millis(50));
    }

    #[test]
    fn the_bucket_refills_to_its_capacity_only() {
        let pace = Pace::new(2.0, 1.0);
        let t0 = Instant::now();
        pace.reserve("A", t0);
        pace.reserve("A", t0);
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(pace.reserve("A", later), Duration::ZERO);
        assert_eq!(pace.reserve("A", later), Duration::ZERO);
        assert_eq!(pace.reserve("A", later), Duration::from_secs(1));
    }
}
