//! What an output remembers as open, for the audit: it reads state, not events, so a share that
//! ended shows as nothing at all. To resolve the findings it reported before, the audit asks an
//! output that keeps them (Security Hub) which of its exposures in an account and region are
//! still open, and resolves those it no longer sees.

use std::future::Future;
use std::pin::Pin;

use crate::finding::{Resource, Target};

/// An exposure reported before and still open: its id (the exposure id), its resource and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub id: String,
    pub resource: Resource,
    pub target: Target,
}

pub type Recalling<'a> = Pin<Box<dyn Future<Output = Result<Vec<Opened>, String>> + Send + 'a>>;

/// An output that can say which of the audit's findings are open (`rule_id`: the audit's rule).
pub trait Recall: Send + Sync {
    fn open<'a>(&'a self, rule_id: &'a str, account: &'a str, region: &'a str) -> Recalling<'a>;
}
