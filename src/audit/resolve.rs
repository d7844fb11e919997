//! What the audit no longer sees: an exposure that an earlier audit reported open, in an
//! account-region read in full this time, that this audit did not find has ended (the share was
//! removed, the resource deleted, the target trusted since). The audit reads state, so it asks
//! an output that keeps the findings ([`Recall`], Security Hub) which are open, and publishes a
//! resolution for each one it did not see. An account-region that was not read in full resolves
//! nothing: what could not be read is not taken for gone.

use std::collections::BTreeSet;

use super::{region, Options, Totals};
use crate::rule::exposure;
use crate::sink::{Recall, Sink};

/// One account-region.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub account: &'a str,
    pub region: &'a str,
}

/// Resolves the open exposures of `scope` that are not among `seen` (this audit's ids).
pub async fn unseen(
    recall: &dyn Recall,
    scope: Scope<'_>,
    seen: &BTreeSet<String>,
    options: &Options,
    sink: &dyn Sink,
    totals: &Totals,
) {
    let Scope { account, region } = scope;
    let open = match recall.open(exposure::IDENTITY.id, account, region).await {
        Ok(open) => open,
        Err(e) => {
            totals.note(format!(
                "{account} {region}: the open findings could not be read ({e}); none resolved"
            ));
            return;
        }
    };
    let ended: Vec<_> = open
        .iter()
        .filter(|o| !seen.contains(&o.id))
        .map(|o| exposure::resolution(&o.resource, &o.target, account, region, &options.time))
        // The id is derived from what the finding says; one that does not give back the
        // finding's id would resolve another finding, or none.
        .filter(|f| open.iter().any(|o| o.id == f.finding_id))
        .collect();
    if ended.is_empty() {
        return;
    }
    tracing::info!(
        account,
        region,
        resolved = ended.len(),
        "exposures no longer seen"
    );
    totals.add(&totals.resolved, ended.len() as u64);
    region::publish(sink, ended, totals).await;
}
