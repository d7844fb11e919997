//! Several outputs as one sink ([`Fanout`]), and the echo of `scan --publish` ([`Echo`]): every
//! finding printed, then delivered.

use futures_util::future::join_all;

use super::{PublishError, Published, Publishing, Sink, Stdout};
use crate::finding::Finding;

/// Hands every finding to each output, side by side. A finding counts as delivered only when
/// every output took it: the error counts, for the worst output, the findings it did not
/// take, so that the unit is retried (an output that did take them may then get them twice:
/// the ids let it drop the copies).
pub struct Fanout(pub Vec<Box<dyn Sink>>);

impl Sink for Fanout {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        Box::pin(async move {
            if let [only] = self.0.as_slice() {
                return only.publish(findings).await;
            }
            let attempted = findings.len();
            let results = join_all(self.0.iter().map(|s| s.publish(findings.clone()))).await;
            let mut published = Published::all(attempted);
            let mut failure: Option<PublishError> = None;
            for result in results {
                match result {
                    Ok(p) => {
                        published.duplicates = published.duplicates.max(p.duplicates);
                        published.suppressed = published.suppressed.max(p.suppressed);
                        published.delivered = published.delivered.min(p.delivered);
                    }
                    Err(e) => {
                        failure = Some(match failure {
                            None => e,
                            Some(f) => PublishError {
                                failed: f.failed.max(e.failed),
                                reason: format!("{}; {}", f.reason, e.reason),
                                ..f
                            },
                        })
                    }
                }
            }
            match failure {
                None => Ok(published),
                Some(e) => Err(PublishError { attempted, ..e }),
            }
        })
    }
}

/// Prints every finding on stdout (the second field says how), then delivers through `inner`
/// (`scan --publish`): stdout shows every finding found, the outputs may leave duplicates out.
/// The counts are `inner`'s.
pub struct Echo(pub Box<dyn Sink>, pub Stdout);

impl Sink for Echo {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        Box::pin(async move {
            let attempted = findings.len();
            let printed = self.1.publish(findings.clone()).await;
            let delivered = self.0.publish(findings).await;
            match (printed, delivered) {
                (Ok(_), result) => result,
                (Err(e), Ok(p)) => Err(PublishError {
                    duplicates: p.duplicates,
                    suppressed: p.suppressed,
                    ..e
                }),
                (Err(a), Err(b)) => Err(PublishError {
                    attempted,
                    failed: a.failed.max(b.failed),
                    reason: format!("{}; {}", a.reason, b.reason),
                    ..b
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::Memory;
    use std::sync::Arc;

    /// An output that refuses everything.
    struct Down;

    impl Sink for Down {
        fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
            let n = findings.len();
            Box::pin(async move { Err(PublishError::all(n, "down".to_owned())) })
        }
    }

    fn findings() -> Vec<Finding> {
        crate::testing::share_findings("e1", &["111122223333", "all"])
    }

    #[tokio::test]
    async fn every_output_gets_every_finding() {
        let (a, b) = (Arc::new(Memory::default()), Arc::new(Memory::default()));
        let fan = Fanout(vec![Box::new(a.clone()), Box::new(b.clone())]);
        let p = fan.publish(findings()).await.unwrap();
        assert_eq!(p.delivered, 2);
        assert_eq!((a.take().len(), b.take().len()), (2, 2));
    }

    #[tokio::test]
    async fn one_output_down_fails_the_findings_for_a_retry() {
        let a = Arc::new(Memory::default());
        let fan = Fanout(vec![Box::new(a.clone()), Box::new(Down)]);
        let e = fan.publish(findings()).await.unwrap_err();
        assert_eq!((e.attempted, e.failed), (2, 2));
        assert!(e.reason.contains("down"), "{e}");
        assert_eq!(a.take().len(), 2, "the healthy output still got them");
    }
}
