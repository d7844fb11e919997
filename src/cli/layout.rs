//! CloudTrail's key layout, used to list only what can match: `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/
//! CloudTrail/REGION/YYYY/MM/DD/FILE`. With `--account`, `--region`, `--since` and `--until`,
//! a prefix scan lists the accounts and regions it needs and goes straight to the matching
//! days, instead of listing the whole bucket and filtering keys: an organization-month is
//! millions of objects, and each LIST returns a thousand.
//!
//! The walk is depth-first in key order, so objects come out sorted, and memory holds what is
//! in flight and the prefixes still to list, not the listing. Its LISTs run many at once
//! ([`crate::walk`]): a quarter of an organization is a hundred thousand prefixes.

use std::fmt;

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::finding::days_in_month;
use crate::source::{ListRequest, ObjectError, ObjectRef, ObjectStore};
use crate::walk::{self, Bound, Step};

/// A calendar day (proleptic Gregorian), enough for key prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Day {
    /// `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Day, String> {
        let bad = || format!("{text:?} is not a date (YYYY-MM-DD)");
        let mut parts = text.trim().splitn(3, '-');
        let mut next = |len: usize| {
            parts
                .next()
                .filter(|p| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(bad)
        };
        let (year, month, day) = (next(4)?, next(2)?, next(2)?);
        let d = Day {
            year,
            month: month as u8,
            day: day as u8,
        };
        let last = days_in_month(year, d.month).ok_or_else(bad)?;
        if d.day == 0 || d.day > last {
            return Err(bad());
        }
        Ok(d)
    }

    fn next(self) -> Day {
        // A month out of range (a `Day` built by hand, not parsed) ends after day 31.
        if self.day < days_in_month(self.year, self.month).unwrap_or(31) {
            Day {
                day: self.day + 1,
                ..self
            }
        } else if self.month < 12 {
            Day {
                month: self.month + 1,
                day: 1,
                ..self
            }
        } else {
            Day {
                year: self.year + 1,
                month: 1,
                day: 1,
            }
        }
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}/{:02}/{:02}", self.year, self.month, self.day)
    }
}

/// What a prefix scan may skip without listing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub since: Option<Day>,
    pub until: Option<Day>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self == &Filters::default()
    }

    fn account(&self, id: &str) -> bool {
        self.accounts.is_empty() || self.accounts.iter().any(|a| a == id)
    }

    fn region(&self, name: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|r| r == name)
    }

    /// Whether a date prefix (a year, a month or a day) can hold matching files.
    fn dates(&self, parts: &[u16]) -> bool {
        let lo = |p: &[u16]| (p[0], *p.get(1).unwrap_or(&1), *p.get(2).unwrap_or(&1));
        let hi = |p: &[u16]| (p[0], *p.get(1).unwrap_or(&12), *p.get(2).unwrap_or(&31));
        let since = self.since.map(|d| (d.year, d.month as u16, d.day as u16));
        let until = self.until.map(|d| (d.year, d.month as u16, d.day as u16));
        since.is_none_or(|s| hi(parts) >= s) && until.is_none_or(|u| lo(parts) <= u)
    }
}

/// Where in the layout a prefix ends.
#[derive(Debug, Clone, PartialEq)]
enum Level {
    /// Above `AWSLogs/` (a trail's own key prefix, or the bucket's root).
    Root(usize),
    /// `AWSLogs/` or `AWSLogs/o-ORG/`: accounts below.
    Accounts,
    /// `ACCOUNT/`: `CloudTrail/` below.
    Account,
    /// `ACCOUNT/CloudTrail/`: regions below.
    Regions,
    /// `REGION/`, or a year or month under it: dates below (the parts seen so far).
    Dates(Vec<u16>),
    /// A day, or anything the layout does not describe: list it all.
    Leaf,
}

/// What a walk did besides handing out objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Walked {
    /// LIST requests made.
    pub lists: u64,
    /// Prefixes (accounts, regions, dates) the filters skipped without listing them.
    pub pruned: u64,
}

/// Lists every object under `bucket/prefix` that the filters let through, in key order, and
/// sends each to `objects`; stops early when the receiver is gone, or at the first LIST that
/// fails (the objects before it sent). Up to `bound` LISTs are in flight at once, ahead in key
/// order ([`crate::walk`]): the days of a date range, the accounts and regions, are listed
/// together instead of one round trip after the other. A listing's pages still come one after
/// the other (each names the next).
pub async fn walk<T: ObjectStore>(
    store: &T,
    bucket: &str,
    prefix: &str,
    filters: &Filters,
    bound: usize,
    objects: &mpsc::Sender<ObjectRef>,
) -> Result<Walked, ObjectError> {
    let level = if filters.is_empty() {
        Level::Leaf
    } else {
        level_of(prefix)
    };
    let root = Node {
        prefix: prefix.to_owned(),
        level,
        page: None,
    };
    let counts = Counts::default();
    let (tx, mut rx) = mpsc::channel(1);
    let children = |node| expand(store, bucket, filters, node, &counts);
    let walking = walk::walk([root], Bound::new(bound), children, tx);
    // The receiver is dropped when this ends, which stops the walk.
    let forwarding = async move {
        while let Some(item) = rx.recv().await {
            if objects.send(item?).await.is_err() {
                break;
            }
        }
        Ok::<(), ObjectError>(())
    };
    let ((), sent) = tokio::join!(walking, forwarding);
    sent.map(|()| Walked {
        lists: counts.lists.load(Ordering::Relaxed),
        pruned: counts.pruned.load(Ordering::Relaxed),
    })
}

/// A prefix of the walk: where it is in the layout, and which page of its listing is next
/// (`None`: the first, or no listing at all when the filters name its children).
struct Node {
    prefix: String,
    level: Level,
    page: Option<String>,
}

/// [`Walked`], counted by expansions that run at the same time.
#[derive(Default)]
struct Counts {
    lists: AtomicU64,
    pruned: AtomicU64,
}

/// A node's children, in key order: objects (a page of them, at a day or anything the layout
/// does not describe), or the prefixes under it the filters let through, named without a LIST
/// when the filters say what they are; the next page last.
async fn expand<T: ObjectStore>(
    store: &T,
    bucket: &str,
    filters: &Filters,
    node: Node,
    counts: &Counts,
) -> Result<Vec<Step<Node, ObjectRef>>, ObjectError> {
    let Node {
        prefix,
        level,
        page,
    } = node;
    if page.is_none() {
        if let Some(named) = named(&prefix, &level, filters) {
            return Ok(named.into_iter().map(Step::Node).collect());
        }
    }
    let leaf = level == Level::Leaf;
    let request = ListRequest {
        bucket: bucket.to_owned(),
        prefix: prefix.clone(),
        delimiter: (!leaf).then_some('/'),
        continuation: page,
        ..ListRequest::default()
    };
    counts.lists.fetch_add(1, Ordering::Relaxed);
    let listing = store.list(&request).await?;
    let mut steps = Vec::new();
    if leaf {
        steps.extend(listing.objects.into_iter().map(Step::Leaf));
    }
    // Objects directly under a prefix the layout describes are not log files: not handed out.
    for child in listing.prefixes {
        let name = child[prefix.len()..].trim_end_matches('/');
        match next_level(&level, name, filters) {
            Some(next) => steps.push(Step::Node(Node {
                prefix: child,
                level: next,
                page: None,
            })),
            None => {
                counts.pruned.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    steps.extend(listing.next.map(|next| {
        Step::Node(Node {
            prefix,
            level,
            page: Some(next),
        })
    }));
    Ok(steps)
}

/// The children of `prefix` that need no LIST: the filters (or the layout) name them.
fn named(prefix: &str, level: &Level, filters: &Filters) -> Option<Vec<Node>> {
    let node = |prefix: String, level: Level| Node {
        prefix,
        level,
        page: None,
    };
    match (level, filters) {
        // Only `CloudTrail/` holds log files: no need to list the account.
        (Level::Account, _) => Some(vec![node(format!("{prefix}CloudTrail/"), Level::Regions)]),
        // Known regions: no need to list them.
        (Level::Regions, Filters { regions, .. }) if !regions.is_empty() => {
            let mut regions = regions.clone();
            regions.sort();
            let regions = regions.into_iter();
            Some(
                regions
                    .map(|r| node(format!("{prefix}{r}/"), Level::Dates(Vec::new())))
                    .collect(),
            )
        }
        // Both ends of the range known: the days are the prefixes.
        (
            Level::Dates(parts),
            Filters {
                since: Some(s),
                until: Some(u),
                ..
            },
        ) if parts.is_empty() => {
            let mut days = Vec::new();
            let mut day = *s;
            while day <= *u {
                days.push(node(format!("{prefix}{day}/"), Level::Leaf));
                day = day.next();
            }
            Some(days)
        }
        _ => None,
    }
}

/// The level a user's prefix ends at, from its segments.
fn level_of(prefix: &str) -> Level {
    let mut level = Level::Root(0);
    let segments = prefix.split('/');
    let complete = prefix.ends_with('/') || prefix.is_empty();
    let segments: Vec<&str> = segments.filter(|s| !s.is_empty()).collect();
    if !complete {
        // A prefix that ends inside a name: list what it names.
        return Level::Leaf;
    }
    for name in segments {
        level = match next_level(&level, name, &Filters::default()) {
            Some(next) => next,
            None => return Level::Leaf,
        };
    }
    level
}

/// The level of child `name` under `level`; `None` when the filters (or the layout) skip it.
fn next_level(level: &Level, name: &str, filters: &Filters) -> Option<Level> {
    let digits = |n: usize| name.len() == n && name.bytes().all(|b| b.is_ascii_digit());
    match level {
        Level::Root(_) if name == "AWSLogs" => Some(Level::Accounts),
        // A trail's own key prefix: look one or two levels down for AWSLogs.
        Level::Root(depth) if *depth < 2 => Some(Level::Root(depth + 1)),
        Level::Root(_) => None,
        Level::Accounts if name.starts_with("o-") => Some(Level::Accounts),
        Level::Accounts if digits(12) => filters.account(name).then_some(Level::Account),
        Level::Accounts => None,
        Level::Account if name == "CloudTrail" => Some(Level::Regions),
        // Digest and Insights files are not log files.
        Level::Account => None,
        Level::Regions => filters.region(name).then(|| Level::Dates(Vec::new())),
        Level::Dates(parts) if parts.len() < 3 && digits(if parts.is_empty() { 4 } else { 2 }) => {
            let mut parts = parts.clone();
            parts.push(name.parse().ok()?);
            let next = if parts.len() == 3 {
                Level::Leaf
            } else {
                Level::Dates(parts.clone())
            };
            filters.dates(&parts).then_some(next)
        }
        Level::Dates(_) => None,
        Level::Leaf => Some(Level::Leaf),
    }
}
