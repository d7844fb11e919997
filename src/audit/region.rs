//! One account in one region: the block public access states, then what the account owns of
//! each kind. What IAM Access Analyzer covers comes from its report; the rest is listed page by
//! page and each resource's permission read, on the ordered concurrent walk of `crate::walk`
//! (the tree: kinds, pages, resources), a few reads in flight at EC2's pace, the next page
//! listed while the last reads of this one run, and exposures handed on in listing order as
//! they are found, so that memory holds what is in flight whatever the account owns.
//!
//! Account-regions themselves run side by side outside this walk ([`super::run`]): each has
//! buckets of its own at EC2, and one walk over all of them would keep the account-regions
//! after the first waiting behind it (the walk only looks a bounded way ahead, to keep its
//! order and its memory).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use super::analyzer::{Reported, COVERED};
use super::{Inventory, Options, Totals, Unreadable, KINDS};
use crate::finding::{Finding, ResourceType, Target};
use crate::rule::exposure::{self, Shared};
use crate::sink::Sink;
use crate::walk::{self, Bound, Step};

/// Exposures handed to the sink at once (and at the end of the account-region).
const BATCH: usize = 100;

/// What one account-region gave (for tests; the totals count it too).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RegionReport {
    pub resources: u64,
    /// Of `resources`, those IAM Access Analyzer reported (no call per resource).
    pub from_analyzer: u64,
    pub exposures: u64,
    /// The ids of the exposures found, whether or not an output took them.
    pub seen: BTreeSet<String>,
    /// Whether everything was read: only then does an exposure not seen mean one that ended.
    pub complete: bool,
}

/// What IAM Access Analyzer reported for one account-region: the analyzer, and the resources
/// of its kinds ([`COVERED`]) that it says are shared outside its zone of trust.
#[derive(Debug, Clone, Copy)]
pub struct Covered<'a> {
    pub analyzer: &'a str,
    pub reported: &'a [Reported],
}

/// A node of the walk: a page of a kind's listing (`None`: the first), or one resource whose
/// permission is to be read.
enum Node {
    Page(ResourceType, Option<String>),
    Read(ResourceType, String),
}

/// A resource whose permission was read.
struct Read {
    kind: ResourceType,
    id: String,
    targets: Vec<Target>,
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
    let incomplete = AtomicBool::new(false);
    let unreadable = |reason: String| {
        incomplete.store(true, Ordering::Relaxed);
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
    let mut findings: Vec<Finding> = Vec::new();

    // What the analyzer reported: its targets, or, where it could not analyze the resource,
    // the resource read as if there were no analyzer.
    let covered = covered
        .map(|c| (c.analyzer, c.reported))
        .unwrap_or_default();
    totals.add(&totals.listed, covered.1.len() as u64);
    for r in covered.1 {
        let (targets, analyzer) = match &r.error {
            None => (r.targets.clone(), Some(covered.0)),
            Some(_) => match inventory.targets(r.kind, &r.id).await {
                Ok(targets) => (targets, None),
                Err(e) if e.gone => continue,
                Err(e) => {
                    unreadable(format!("{} {}: {e}", r.kind.noun(), r.id));
                    continue;
                }
            },
        };
        report.read(totals, 1);
        if analyzer.is_some() {
            report.from_analyzer += 1;
            totals.add(&totals.from_analyzer, 1);
        }
        findings.extend(evaluate(r.kind, &r.id, &targets, analyzer));
    }

    // The rest, listed and read.
    let analyzed = !covered.0.is_empty();
    let roots = KINDS
        .into_iter()
        .filter(|kind| !(analyzed && COVERED.contains(kind)))
        .map(|kind| Node::Page(kind, None));
    let (tx, mut rx) = mpsc::channel(1);
    let walking = walk::walk(
        roots,
        Bound::new(options.per_region),
        |node| expand(inventory, node, totals),
        tx,
    );
    let receiving = async {
        while let Some(read) = rx.recv().await {
            match read {
                Ok(read) => {
                    report.read(totals, 1);
                    findings.extend(evaluate(read.kind, &read.id, &read.targets, None));
                    if findings.len() >= BATCH {
                        report.found(totals, &findings);
                        publish(sink, std::mem::take(&mut findings), totals).await;
                    }
                }
                Err(reason) => unreadable(reason),
            }
        }
    };
    tokio::join!(walking, receiving);
    report.found(totals, &findings);
    publish(sink, findings, totals).await;
    totals.add(&totals.regions, 1);
    report.complete = !incomplete.load(Ordering::Relaxed);
    report
}

/// A node's answer: a page gives its resources then the next page; a resource its
/// permission (nothing when it was deleted since it was listed). Errors name the call and, for
/// a resource, the resource.
async fn expand<I: Inventory>(
    inventory: &I,
    node: Node,
    totals: &Totals,
) -> Result<Vec<Step<Node, Read>>, String> {
    match node {
        Node::Page(kind, page) => {
            let listed = inventory
                .list(kind, page)
                .await
                .map_err(|e| e.to_string())?;
            totals.add(&totals.listed, listed.ids.len() as u64);
            let mut steps: Vec<_> = listed
                .ids
                .into_iter()
                .map(|id| Step::Node(Node::Read(kind, id)))
                .collect();
            steps.extend(
                listed
                    .next
                    .map(|next| Step::Node(Node::Page(kind, Some(next)))),
            );
            Ok(steps)
        }
        Node::Read(kind, id) => match inventory.targets(kind, &id).await {
            Ok(targets) => Ok(vec![Step::Leaf(Read { kind, id, targets })]),
            Err(e) if e.gone => Ok(Vec::new()),
            Err(e) => Err(format!("{} {id}: {e}", kind.noun())),
        },
    }
}

impl RegionReport {
    /// `n` resources read; the totals move with it, for the progress line.
    fn read(&mut self, totals: &Totals, n: u64) {
        self.resources += n;
        totals.add(&totals.resources, n);
    }

    fn found(&mut self, totals: &Totals, found: &[Finding]) {
        self.exposures += found.len() as u64;
        totals.add(&totals.exposures, found.len() as u64);
        self.seen.extend(found.iter().map(|f| f.finding_id.clone()));
    }
}

pub(super) async fn publish(sink: &dyn Sink, findings: Vec<Finding>, totals: &Totals) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Page, ReadError};
    use crate::rule::TrustedAccounts;
    use crate::sink::Memory;

    /// An account-region in memory: snapshots listed `page` at a time, each shared with the
    /// account of its number; `snap-gone` deleted after it was listed, `snap-denied` refused,
    /// and AMIs that cannot be listed.
    struct Owned {
        ids: Vec<String>,
        page: usize,
    }

    impl Inventory for Owned {
        async fn block_public_access(&self, _: ResourceType) -> Result<String, ReadError> {
            Ok("unblocked".to_owned())
        }

        async fn list(&self, kind: ResourceType, page: Option<String>) -> Result<Page, ReadError> {
            match kind {
                ResourceType::EbsSnapshot => {
                    let from: usize = page.map_or(0, |p| p.parse().unwrap());
                    let to = (from + self.page).min(self.ids.len());
                    Ok(Page {
                        ids: self.ids[from..to].to_vec(),
                        next: (to < self.ids.len()).then(|| to.to_string()),
                    })
                }
                ResourceType::Image => Err(ReadError {
                    call: "DescribeImages",
                    reason: "UnauthorizedOperation".to_owned(),
                    gone: false,
                }),
                _ => Ok(Page::default()),
            }
        }

        async fn targets(&self, _: ResourceType, id: &str) -> Result<Vec<Target>, ReadError> {
            let refused = |gone| ReadError {
                call: "DescribeSnapshotAttribute",
                reason: "refused".to_owned(),
                gone,
            };
            match id {
                "snap-gone" => Err(refused(true)),
                "snap-denied" => Err(refused(false)),
                _ => Ok(vec![Target::Account(format!(
                    "{:0>12}",
                    id.trim_start_matches("snap-")
                ))]),
            }
        }
    }

    #[tokio::test]
    async fn pages_are_read_in_order_and_what_fails_is_named_while_the_rest_goes_on() {
        let mut ids: Vec<String> = (1..=7).map(|n| format!("snap-{n}")).collect();
        ids.insert(2, "snap-gone".to_owned());
        ids.insert(5, "snap-denied".to_owned());
        let inventory = Owned { ids, page: 3 };
        let options = Options {
            trusted: TrustedAccounts::parse("000000000004"),
            regions: Vec::new(),
            per_region: 2,
            side_by_side: 1,
            time: "2026-12-03T00:00:00Z".to_owned(),
            analyzer: None,
        };
        let (sink, totals) = (Memory::default(), Totals::default());
        let account = "999999999999";
        let report = audit_region(
            &inventory,
            account,
            "eu-west-1",
            None,
            &options,
            &sink,
            &totals,
        )
        .await;
        // Seven read (the deleted one is no failure), six exposed (4 is trusted), in order.
        assert_eq!((report.resources, report.exposures), (7, 6));
        let targets: Vec<String> = sink.take().into_iter().map(|f| f.user_id).collect();
        let expected: Vec<String> = [1, 2, 3, 5, 6, 7]
            .iter()
            .map(|n| format!("{n:0>12}"))
            .collect();
        assert_eq!(targets, expected);
        let reasons: Vec<String> = totals
            .report()
            .unreadable
            .into_iter()
            .map(|u| u.reason)
            .collect();
        assert_eq!(
            reasons,
            [
                "EBS snapshot snap-denied: DescribeSnapshotAttribute: refused",
                "DescribeImages: UnauthorizedOperation"
            ]
        );
        assert_eq!(totals.report().resources, 7);
    }
}
