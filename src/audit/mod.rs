//! The audit: what each account owns that is shared outside it *now*, whatever the trail saw.
//!
//! The rules read events; they see a share from the day the detector is deployed. The audit
//! reads state: for each account and region, the EBS snapshots and their
//! `createVolumePermission`, the AMIs and their `launchPermission`, the RDS DB and cluster
//! snapshots and their `restore` attribute, and the region's block public access states. It
//! reports one exposure finding per (resource, foreign target), in the rules' finding shape.

/// Every API action the audit calls in an audited account, in IAM's spelling. The member role
/// of `audit-role.yaml` and the function's own policy grant exactly these (tests hold them to
/// this list); a new call is added here first.
pub const ACTIONS: &[&str] = &[
    "ec2:DescribeRegions",
    "ec2:DescribeSnapshots",
    "ec2:DescribeSnapshotAttribute",
    "ec2:DescribeImages",
    "ec2:DescribeImageAttribute",
    "ec2:GetSnapshotBlockPublicAccessState",
    "ec2:GetImageBlockPublicAccessState",
    "rds:DescribeDBSnapshots",
    "rds:DescribeDBSnapshotAttributes",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeDBClusterSnapshotAttributes",
];

/// What the auditing account itself calls, never a member: the role it assumes in each member,
/// the organization's accounts, and IAM Access Analyzer's findings (from the delegated
/// administrator). In IAM's spelling, which is not always the API's: the `ListFindingsV2` call
/// is authorised as `access-analyzer:ListFindings` (its API reference says so, and IAM knows no
/// `ListFindingsV2` action: a policy granting it would grant nothing).
pub const CENTRAL_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "organizations:ListAccounts",
    "access-analyzer:ListAnalyzers",
    "access-analyzer:ListFindings",
];

pub mod analyzer;
mod inventory;
pub mod invoke;
pub mod pace;
pub mod plan;
mod region;
mod resolve;

pub use inventory::{AwsInventory, Inventory, Page, ReadError, KINDS};
pub use plan::{Plan, Role};
pub use region::{audit_region, Covered, RegionReport};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use futures_util::stream::{self, StreamExt};

use crate::aws::ClientSettings;
use crate::rule::TrustedAccounts;
use crate::sink::{Recall, Sink};

/// How the audit goes.
#[derive(Debug, Clone)]
pub struct Options {
    pub trusted: TrustedAccounts,
    /// Regions to audit in every account; empty: every region enabled for the account.
    pub regions: Vec<String>,
    /// Attribute reads in flight in one account and region. EC2's bucket refills 20 a second:
    /// with a round trip of tens of milliseconds, a handful in flight keeps up with it.
    pub per_region: usize,
    /// Account-regions audited side by side: each has buckets of its own at EC2, so they add up.
    pub side_by_side: usize,
    /// RFC 3339 time of the audit, the `@timestamp` of its findings.
    pub time: String,
    /// Take the kinds IAM Access Analyzer covers from its active findings (`--access-analyzer`).
    pub analyzer: Option<analyzer::Choice>,
}

/// A part of the audit that could not be read: an account (it could not be entered), or one of
/// its regions. Named, and the audit goes on; never taken for "nothing exposed".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unreadable {
    pub account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub reason: String,
}

/// What an audit did, for the summary line, the exit status and the Lambda's answer.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub accounts: u64,
    pub regions: u64,
    pub resources: u64,
    /// Of `resources`, those IAM Access Analyzer reported, read with no call of their own.
    pub from_analyzer: u64,
    pub exposures: u64,
    /// Exposures an earlier audit reported that this one no longer sees: resolved.
    pub resolved: u64,
    pub delivered: u64,
    pub duplicates: u64,
    pub suppressed: u64,
    pub undelivered: u64,
    pub unreadable: Vec<Unreadable>,
    /// What the audit could not take from IAM Access Analyzer, and read one by one instead.
    pub notes: Vec<String>,
}

/// Counters shared by the account-regions that run side by side, read by the progress line
/// while they move.
#[derive(Debug, Default)]
pub struct Totals {
    /// Accounts in the plan, once it is known.
    pub planned: AtomicU64,
    /// Accounts entered (their role assumed, their regions known).
    pub accounts: AtomicU64,
    /// Accounts finished: every region audited, or the account could not be entered.
    pub accounts_done: AtomicU64,
    /// Account-regions to audit, once every account is entered.
    pub scopes: AtomicU64,
    /// Account-regions audited.
    pub regions: AtomicU64,
    /// Resources listed (or reported by Access Analyzer), and those whose sharing was read.
    pub listed: AtomicU64,
    pub resources: AtomicU64,
    pub from_analyzer: AtomicU64,
    pub exposures: AtomicU64,
    pub resolved: AtomicU64,
    pub delivered: AtomicU64,
    pub duplicates: AtomicU64,
    pub suppressed: AtomicU64,
    pub undelivered: AtomicU64,
    pub unreadable: Mutex<Vec<Unreadable>>,
    pub notes: Mutex<Vec<String>>,
}

impl Totals {
    /// Adds `n` to one of the counters.
    pub fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn unreadable(&self, u: Unreadable) {
        tracing::warn!(account = %u.account, region = ?u.region, "cannot audit: {}", u.reason);
        self.unreadable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(u);
    }

    /// Something the audit did otherwise than asked, and why (it still read everything).
    pub fn note(&self, note: String) {
        tracing::warn!("{note}");
        self.notes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(note);
    }

    /// The report, unreadable parts sorted by account and region.
    pub fn report(&self) -> Report {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut unreadable = self
            .unreadable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        unreadable.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner()).clone();
        notes.sort();
        Report {
            accounts: get(&self.accounts),
            regions: get(&self.regions),
            resources: get(&self.resources),
            from_analyzer: get(&self.from_analyzer),
            exposures: get(&self.exposures),
            resolved: get(&self.resolved),
            delivered: get(&self.delivered),
            duplicates: get(&self.duplicates),
            suppressed: get(&self.suppressed),
            undelivered: get(&self.undelivered),
            unreadable,
            notes,
        }
    }
}

/// Audits every account of the plan, every region of each, side by side, and hands each
/// exposure to `sink` as soon as its page is read. With `recall` (an output that keeps the
/// findings, Security Hub), each account-region read in full then resolves the exposures
/// reported before that it no longer sees.
pub async fn run(
    plan: &Plan,
    settings: &ClientSettings,
    options: &Options,
    sink: &dyn Sink,
    recall: Option<&dyn Recall>,
    totals: &Totals,
) {
    // Enter every account (assume its role, read its regions) first, a few at a time; then
    // every account-region of all of them goes side by side under one bound.
    totals.add(&totals.planned, plan.accounts().len() as u64);
    let entered: Vec<_> = stream::iter(plan.accounts())
        .map(|account| async move {
            let entered = plan.enter(&account, settings, &options.regions).await;
            (account, entered)
        })
        .buffer_unordered(options.side_by_side.clamp(1, 16))
        .collect()
        .await;
    let mut scopes = Vec::new();
    for (account, entered) in entered {
        match entered {
            Ok((config, regions)) => {
                totals.add(&totals.accounts, 1);
                scopes.extend(
                    regions
                        .into_iter()
                        .map(|r| (account.clone(), config.clone(), r)),
                );
            }
            Err(reason) => {
                totals.add(&totals.accounts_done, 1);
                totals.unreadable(Unreadable {
                    account,
                    region: None,
                    reason,
                })
            }
        }
    }
    scopes.sort_by(|a, b| (&a.0, &a.2).cmp(&(&b.0, &b.2)));
    totals.add(&totals.scopes, scopes.len() as u64);
    // Regions left in each account: the account is done when its last region is.
    let mut left: BTreeMap<&str, usize> = BTreeMap::new();
    for (account, _, _) in &scopes {
        *left.entry(account.as_str()).or_default() += 1;
    }
    // An account with no region to audit is done already.
    let empty = totals.accounts.load(Ordering::Relaxed) - left.len() as u64;
    totals.add(&totals.accounts_done, empty);
    let left = Mutex::new(left);
    let left = &left;
    let regions: BTreeSet<&str> = scopes.iter().map(|s| s.2.as_str()).collect();
    let known = match &options.analyzer {
        Some(choice) => analyzers(choice, plan, settings, regions, totals).await,
        None => BTreeMap::new(),
    };
    let known = &known;
    stream::iter(&scopes)
        .for_each_concurrent(
            options.side_by_side.max(1),
            |(account, config, region)| async move {
                let inventory = AwsInventory::new(config, settings, account, region);
                let covered = known.get(region.as_str()).and_then(|c| {
                    Some(Covered {
                        analyzer: &c.analyzer,
                        reported: c.of(account)?,
                    })
                });
                let report =
                    audit_region(&inventory, account, region, covered, options, sink, totals).await;
                if let (Some(recall), true) = (recall, report.complete) {
                    let scope = resolve::Scope { account, region };
                    resolve::unseen(recall, scope, &report.seen, options, sink, totals).await;
                }
                let mut left = left.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(n) = left.get_mut(account.as_str()) {
                    *n -= 1;
                    if *n == 0 {
                        totals.add(&totals.accounts_done, 1);
                    }
                }
            },
        )
        .await;
}

/// What IAM Access Analyzer reports in each region, read side by side; a region whose
/// analyzer is missing or cannot be read is noted and read one resource at a time.
async fn analyzers(
    choice: &analyzer::Choice,
    plan: &Plan,
    settings: &ClientSettings,
    regions: BTreeSet<&str>,
    totals: &Totals,
) -> BTreeMap<String, analyzer::Coverage> {
    let read: Vec<_> = stream::iter(regions)
        .map(|region| async move {
            let accounts = plan.accounts();
            let read = analyzer::read(choice, plan.base(), settings, region, &accounts).await;
            (region, read)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut known = BTreeMap::new();
    for (region, read) in read {
        match read {
            Ok(Some(coverage)) => {
                known.insert(region.to_owned(), coverage);
            }
            Ok(None) if *choice == analyzer::Choice::Auto => totals.note(format!(
                "Access Analyzer: no active external-access analyzer in {region}; its \
                 snapshots are read one by one"
            )),
            Ok(None) => {}
            Err(e) => totals.note(format!(
                "Access Analyzer in {region}: {e}; its snapshots are read one by one"
            )),
        }
    }
    known
}
