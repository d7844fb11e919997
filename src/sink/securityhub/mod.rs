//! AWS Security Hub as an output (`SECURITY_HUB=true`): every finding imported in the AWS
//! Security Finding Format ([`asff`]) through `BatchImportFindings`, into the account and region
//! of the function's credentials, as that account's default product.
//!
//! Delivery is all or counted, like SNS's: a call that fails past the SDK's retries, or a finding
//! the answer lists in `FailedFindings` after [`ATTEMPTS`] tries, counts as undelivered, so the
//! invocation fails and its retry imports it again. Imports are idempotent (a finding's `Id` is
//! deterministic), so nothing is duplicated by retries.
//!
//! Resolutions ([`Finding::is_resolution`]) archive the finding of their share
//! (`RecordState: ARCHIVED`). Security Hub keeps `Workflow` for its users once a finding exists
//! (`BatchImportFindings` cannot change it, and archiving does not resolve it), so a resolution
//! also sets `Workflow.Status: RESOLVED` through `BatchUpdateFindings`, with a note saying why.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate,
};
use tokio::sync::OnceCell;

use super::{PublishError, Published, Publishing, Sink};
use crate::aws::describe;
use crate::finding::Finding;

pub mod asff;
mod recall;
pub use asff::Hub;

/// Findings per `BatchImportFindings` and `BatchUpdateFindings` call: the APIs' limit.
pub const BATCH: usize = 100;
/// Tries of a finding that the answer lists as failed.
pub const ATTEMPTS: u32 = 3;
/// Security Hub refuses a finding over 240 KB; ours are far smaller (each copied field is
/// clipped), and one that is not is refused here, by name, without a call.
const MAX_FINDING_BYTES: usize = 240 * 1024;

pub struct SecurityHubSink {
    client: aws_sdk_securityhub::Client,
    /// Whose credentials and region say where findings are imported.
    sdk: SdkConfig,
    hub: OnceCell<Hub>,
}

impl SecurityHubSink {
    /// Imports with `client` into the account of `sdk`'s credentials (asked once, on the first
    /// publish), in its region.
    pub fn new(client: aws_sdk_securityhub::Client, sdk: SdkConfig) -> Self {
        SecurityHubSink {
            client,
            sdk,
            hub: OnceCell::new(),
        }
    }

    /// The account and region findings are imported into.
    pub async fn hub(&self) -> Result<&Hub, String> {
        self.hub
            .get_or_try_init(|| async {
                let region = self
                    .sdk
                    .region()
                    .map(|r| r.to_string())
                    .ok_or("no region is configured (AWS_REGION)")?;
                let account = crate::aws::caller_account(&self.sdk).await?;
                Ok::<_, String>(Hub { account, region })
            })
            .await
    }

    async fn deliver(&self, findings: Vec<Finding>) -> Result<Published, PublishError> {
        let attempted = findings.len();
        let hub = match self.hub().await {
            Ok(hub) => hub,
            Err(e) => return Err(PublishError::all(attempted, format!("Security Hub: {e}"))),
        };
        let now = crate::finding::rfc3339_of_epoch(crate::epoch_ms() / 1000);
        let mut failed = 0;
        let mut reason = None;
        // One import per ASFF id, the latest in time (then in order) winning: a share and its
        // removal in one log leave the finding resolved, as they left the resource.
        let mut latest: HashMap<String, (usize, &Finding)> = HashMap::new();
        let mut members: HashMap<String, usize> = HashMap::new();
        for (n, f) in findings.iter().enumerate() {
            let size = f.to_json().len();
            if size > MAX_FINDING_BYTES {
                failed += 1;
                reason = Some(format!("finding {} is {size} bytes", f.finding_id));
                continue;
            }
            let id = f.lifecycle_id().to_owned();
            *members.entry(id.clone()).or_default() += 1;
            let newer = |(_, old): &(usize, &Finding)| old.timestamp <= f.timestamp;
            if latest.get(&id).is_none_or(newer) {
                latest.insert(id, (n, f));
            }
        }
        let mut chosen: Vec<(usize, &Finding)> = latest.into_values().collect();
        chosen.sort_by_key(|(n, _)| *n);
        let mut resolved = Vec::new();
        for chunk in chosen.chunks(BATCH) {
            let batch: Vec<AwsSecurityFinding> = chunk
                .iter()
                .map(|(_, f)| asff::finding(f, hub, &now))
                .collect();
            let lost = self.import(batch).await;
            for (id, why) in &lost {
                failed += members.get(id).copied().unwrap_or(1);
                reason = Some(format!("{id}: {why}"));
            }
            resolved.extend(
                chunk
                    .iter()
                    .filter(|(_, f)| f.is_resolution())
                    .map(|(_, f)| f.lifecycle_id().to_owned())
                    .filter(|id| !lost.iter().any(|(l, _)| l == id)),
            );
        }
        for chunk in resolved.chunks(BATCH) {
            for (id, why) in self.resolve(hub, chunk).await {
                failed += members.get(&id).copied().unwrap_or(1);
                reason = Some(format!("{id}: {why}"));
            }
        }
        if failed == 0 {
            return Ok(Published::all(attempted));
        }
        Err(PublishError {
            attempted,
            failed: failed.min(attempted),
            reason: format!(
                "Security Hub {}: {}",
                hub.product_arn(),
                reason.unwrap_or_else(|| "unknown error".to_owned())
            ),
            ..PublishError::default()
        })
    }

    /// Imports `batch`, retrying the findings the answer lists as failed; returns those still
    /// not imported, with why.
    async fn import(&self, mut batch: Vec<AwsSecurityFinding>) -> Vec<(String, String)> {
        let mut lost = Vec::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            let answer = self
                .client
                .batch_import_findings()
                .set_findings(Some(batch.clone()))
                .send()
                .await;
            let out = match answer {
                Ok(out) => out,
                // The SDK has already retried what it deems transient.
                Err(e) => {
                    let why = describe(&e);
                    return ids(&batch).map(|id| (id, why.clone())).collect();
                }
            };
            let refused: Vec<(String, String)> = out
                .failed_findings()
                .iter()
                .map(|f| {
                    let why = format!(
                        "{}: {}",
                        f.error_code().unwrap_or("Failed"),
                        f.error_message().unwrap_or("no message")
                    );
                    (f.id().unwrap_or_default().to_owned(), why)
                })
                .collect();
            if refused.is_empty() {
                return lost;
            }
            tracing::warn!(
                findings = refused.len(),
                reason = refused[0].1.as_str(),
                "BatchImportFindings refused findings; retrying them"
            );
            batch.retain(|f| refused.iter().any(|(id, _)| Some(id.as_str()) == f.id()));
            lost = refused;
        }
        lost
    }

    /// Sets the workflow of the findings `ids` to RESOLVED; returns those not updated, with why.
    async fn resolve(&self, hub: &Hub, ids: &[String]) -> Vec<(String, String)> {
        let product = hub.product_arn();
        let identifiers = ids.iter().map(|id| {
            AwsSecurityFindingIdentifier::builder()
                .id(id)
                .product_arn(&product)
                .build()
        });
        let answer = self
            .client
            .batch_update_findings()
            .set_finding_identifiers(Some(identifiers.collect()))
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::Resolved)
                    .build(),
            )
            .note(
                NoteUpdate::builder()
                    .text("The share ended: snapshot-share-detector saw it removed.")
                    .updated_by("snapshot-share-detector")
                    .build(),
            )
            .send()
            .await;
        match answer {
            Ok(out) => out
                .unprocessed_findings()
                .iter()
                .map(|u| {
                    let id = u.finding_identifier().and_then(|i| i.id());
                    let why = format!(
                        "BatchUpdateFindings: {}: {}",
                        u.error_code().unwrap_or("Unprocessed"),
                        u.error_message().unwrap_or("no message")
                    );
                    (id.unwrap_or_default().to_owned(), why)
                })
                .collect(),
            Err(e) => {
                let why = format!("BatchUpdateFindings: {}", describe(&e));
                ids.iter().map(|id| (id.clone(), why.clone())).collect()
            }
        }
    }
}

fn ids(batch: &[AwsSecurityFinding]) -> impl Iterator<Item = String> + '_ {
    batch.iter().filter_map(|f| f.id().map(str::to_owned))
}

impl Sink for SecurityHubSink {
    fn publish(&self, findings: Vec<Finding>) -> Publishing<'_> {
        Box::pin(self.deliver(findings))
    }
}
