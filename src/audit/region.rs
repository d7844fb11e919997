//! One account in one region: the block public access states, then each kind of resource
//! page by page, each page's permissions read concurrently and its exposures handed on before
//! the next page is listed, so that memory holds one page whatever the account owns.

use futures_util::stream::{self, StreamExt};

use super::analyzer::{Reported, COVERED};
use super::{Inventory, Options, Totals, Unreadable, KINDS};
use crate::finding::{Finding, ResourceType, Target};
use crate::rule::exposure::{self, Shared};
use crate::sink::Sink;

/// What one account-region gave (for tests; the totals count it too).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RegionReport {
    pub resources: u64,
    /// Of `resources`, those IAM Access Analyzer reported (no call per resource).
    pub from_analyzer: u64,
    pub exposures: u64,
}

/// What IAM Access Analyzer reported for one account-region: the analyzer, and the resources
/// of its kinds ([`COVERED`]) that it says are shared outside its zone of trust.
#[derive(Debug, Clone, Copy)]
pub struct Covered<'a> {
    pub analyzer: &'a str,
    pub reported: &'a [Reported],
}

/// Audits one account-region; what cannot be read is named in `totals` and the rest goes on.
/// With `covered`, the kinds the analyzer covers are taken from its report instead of being
/// listed and read one by one.
pub async fn audit_region<I: Inventory>(
    inventory: &I,
    account: &str,
    region: &str,
    covered: Option<Covered<'_>>,
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
    let block = snapshot_block.as_deref();
    let evaluate = |kind, id: &str, targets: &[Target], analyzer| {
        let shared = Shared {
            kind,
            id,
            targets,
            block_public_access: block,
            analyzer,
        };
        exposure::evaluate(&shared, account, region, &options.time, &options.trusted)
    };
    for kind in KINDS {
        if let Some(covered) = covered.filter(|_| COVERED.contains(&kind)) {
            let mut findings = Vec::new();
            let reported = covered.reported.iter().filter(|r| r.kind == kind);
            totals.add(&totals.listed, reported.clone().count() as u64);
            for r in reported {
                // The analyzer could not analyze it: read it as if there were no analyzer.
                let (targets, analyzer) = match &r.error {
                    None => (r.targets.clone(), Some(covered.analyzer)),
                    Some(_) => match inventory.targets(kind, &r.id).await {
                        Ok(targets) => (targets, None),
                        Err(e) if e.gone => continue,
                        Err(e) => {
                            unreadable(format!("{} {}: {e}", kind.noun(), r.id));
                            continue;
                        }
                    },
                };
                report.read(totals, 1);
                if analyzer.is_some() {
                    report.from_analyzer += 1;
                    totals.add(&totals.from_analyzer, 1);
                }
                findings.extend(evaluate(kind, &r.id, &targets, analyzer));
            }
            report.found(totals, findings.len());
            publish(sink, findings, totals).await;
            continue;
        }
        let mut page = None;
        loop {
            let listed = match inventory.list(kind, page.take()).await {
                Ok(listed) => listed,
                Err(e) => {
                    unreadable(e.to_string());
                    break;
                }
            };
            totals.add(&totals.listed, listed.ids.len() as u64);
            // Counted as each read comes back, so that the progress line moves within a page
            // (a page of 1,000 snapshots is 50 s of reads at EC2's pace).
            let mut reads = stream::iter(&listed.ids)
                .map(|id| async move { (id, inventory.targets(kind, id).await) })
                .buffered(options.per_region.max(1));
            let mut findings: Vec<Finding> = Vec::new();
            while let Some((id, targets)) = reads.next().await {
                match targets {
                    Ok(targets) => {
                        report.read(totals, 1);
                        findings.extend(evaluate(kind, id, &targets, None));
                    }
                    // Deleted since it was listed: nothing exposed any more.
                    Err(e) if e.gone => {}
                    Err(e) => unreadable(format!("{} {id}: {e}", kind.noun())),
                }
            }
            report.found(totals, findings.len());
            publish(sink, findings, totals).await;
            match listed.next {
                Some(next) => page = Some(next),
                None => break,
            }
        }
    }
    totals.add(&totals.regions, 1);
    report
}

impl RegionReport {
    /// `n` resources read; the totals move with it, for the progress line.
    fn read(&mut self, totals: &Totals, n: u64) {
        self.resources += n;
        totals.add(&totals.resources, n);
    }

    fn found(&mut self, totals: &Totals, n: usize) {
        self.exposures += n as u64;
        totals.add(&totals.exposures, n as u64);
    }
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
