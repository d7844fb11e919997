//! One account in one region: the block public access states, then each kind of resource
//! page by page, each page's permissions read concurrently and its exposures handed on before
//! the next page is listed, so that memory holds one page whatever the account owns.

use futures_util::stream::{self, StreamExt};

use super::{Inventory, Options, Totals, Unreadable, KINDS};
use crate::finding::{Finding, ResourceType};
use crate::rule::exposure::{self, Shared};
use crate::sink::Sink;

/// What one account-region gave (for tests; the totals count it too).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RegionReport {
    pub resources: u64,
    pub exposures: u64,
}

/// Audits one account-region; what cannot be read is named in `totals` and the rest goes on.
pub async fn audit_region<I: Inventory>(
    inventory: &I,
    account: &str,
    region: &str,
    options: &Options,
    sink: &dyn Sink,
    totals: &Totals,
) -> RegionReport {
    let mut report = RegionReport::default();
    let unreadable = |reason: String| {
        totals.unreadable(Unreadable {
            account: account.to_owned(),
            region: Some(region.to_owned()),
            reason,
        })
    };
    // Only the snapshot setting changes what an exposure is (block-all-sharing makes a public
    // snapshot unreachable); the AMI setting is read so that the audit says it.
    let snapshot_block = match inventory
        .block_public_access(ResourceType::EbsSnapshot)
        .await
    {
        Ok(state) => Some(state),
        Err(e) => {
            unreadable(e.to_string());
            None
        }
    };
    if let Err(e) = inventory.block_public_access(ResourceType::Image).await {
        unreadable(e.to_string());
    }
    for kind in KINDS {
        let mut page = None;
        loop {
            let listed = match inventory.list(kind, page.take()).await {
                Ok(listed) => listed,
                Err(e) => {
                    unreadable(e.to_string());
                    break;
                }
            };
            let block = snapshot_block.as_deref();
            let read: Vec<_> = stream::iter(&listed.ids)
                .map(|id| async move { (id, inventory.targets(kind, id).await) })
                .buffered(options.per_region.max(1))
                .collect()
                .await;
            let mut findings: Vec<Finding> = Vec::new();
            for (id, targets) in read {
                match targets {
                    Ok(targets) => {
                        report.resources += 1;
                        let shared = Shared {
                            kind,
                            id,
                            targets: &targets,
                            block_public_access: block,
                        };
                        findings.extend(exposure::evaluate(
                            &shared,
                            account,
                            region,
                            &options.time,
                            &options.trusted,
                        ));
                    }
                    // Deleted since it was listed: nothing exposed any more.
                    Err(e) if e.gone => {}
                    Err(e) => unreadable(format!("{} {id}: {e}", kind.noun())),
                }
            }
            report.exposures += findings.len() as u64;
            publish(sink, findings, totals).await;
            match listed.next {
                Some(next) => page = Some(next),
                None => break,
            }
        }
    }
    totals.add(&totals.regions, 1);
    totals.add(&totals.resources, report.resources);
    totals.add(&totals.exposures, report.exposures);
    report
}

async fn publish(sink: &dyn Sink, findings: Vec<Finding>, totals: &Totals) {
    if findings.is_empty() {
        return;
    }
    match sink.publish(findings).await {
        Ok(p) => {
            totals.add(&totals.delivered, p.delivered as u64);
            totals.add(&totals.duplicates, p.duplicates as u64);
            totals.add(&totals.suppressed, p.suppressed as u64);
        }
        Err(e) => {
            tracing::error!("{e}");
            totals.add(&totals.delivered, e.delivered() as u64);
            totals.add(&totals.duplicates, e.duplicates as u64);
            totals.add(&totals.suppressed, e.suppressed as u64);
            totals.add(&totals.undelivered, e.failed as u64);
        }
    }
}
