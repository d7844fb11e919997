//! Rules switched off by configuration (`DISABLED_RULES`): a [`Sink`] in front of the others
//! that leaves out the findings of those rules, counted as suppressed and logged, so that a
//! team that does not want a kind of finding (failed attempts, say) does not get it on any
//! output, and the summary still says how many were found.

use super::{Publishing, Sink};
use crate::finding::Finding;

pub struct Select<S> {
    inner: S,
    /// Rule ids whose findings are left out.
    disabled: Vec<String>,
}

impl<S> Select<S> {
    pub fn new(inner: S, disabled: Vec<String>) -> Self {
        Select { inner, disabled }
    }
}

impl<S: Sink> Sink for Select<S> {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        Box::pin(async move {
            let before = findings.len();
            let kept: Vec<Finding> = findings
                .into_iter()
                .filter(|f| !self.disabled.contains(&f.rule.id))
                .collect();
            let suppressed = before - kept.len();
            if suppressed > 0 {
                tracing::info!(
                    suppressed,
                    "findings of rules switched off (DISABLED_RULES)"
                );
            }
            super::publish_rest(&self.inner, kept, suppressed).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::Memory;
    use std::sync::Arc;

    #[tokio::test]
    async fn findings_of_disabled_rules_are_left_out_and_counted() {
        let memory = Arc::new(Memory::default());
        let share = crate::rule::share::IDENTITY.id.to_owned();
        let sink = Select::new(memory.clone(), vec![share]);
        let p = sink
            .publish(crate::testing::share_findings(
                "e1",
                &["111122223333", "all"],
            ))
            .await
            .unwrap();
        assert_eq!((p.delivered, p.suppressed), (0, 2));
        assert!(memory.take().is_empty());
        let open = Select::new(memory.clone(), Vec::new());
        let p = open
            .publish(crate::testing::share_findings("e1", &["111122223333"]))
            .await
            .unwrap();
        assert_eq!((p.delivered, p.suppressed), (1, 0));
    }
}
