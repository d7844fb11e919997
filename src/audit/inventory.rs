//! The audit's edge: what an account owns in one region, and whom each resource is shared with,
//! behind the small [`Inventory`] trait so that the audit's logic is tested without AWS. The
//! AWS implementation calls EC2 and RDS with the SDK's own clients, each call paced by the
//! region's token buckets ([`super::pace::Pace`]).

use std::future::Future;
use std::sync::Arc;

use aws_config::SdkConfig;

use super::pace::Pace;
use crate::aws::ClientSettings;
use crate::finding::{ResourceType, Target};

/// The kinds of resource the audit lists, in the order it lists them.
pub const KINDS: [ResourceType; 4] = [
    ResourceType::EbsSnapshot,
    ResourceType::Image,
    ResourceType::DbSnapshot,
    ResourceType::DbClusterSnapshot,
];

/// One page of a listing: the ids, and the token of the next page.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Page {
    pub ids: Vec<String>,
    pub next: Option<String>,
}

use crate::permission::failed;
/// A call that failed, named: the API and AWS's reason ([`crate::permission::CallError`]).
pub use crate::permission::CallError as ReadError;

/// What one account owns in one region.
pub trait Inventory: Send + Sync {
    /// The region's block public access state for snapshots ([`ResourceType::EbsSnapshot`]) or
    /// AMIs ([`ResourceType::Image`]).
    fn block_public_access(
        &self,
        kind: ResourceType,
    ) -> impl Future<Output = Result<String, ReadError>> + Send;
    /// A page of the ids of what the account owns of `kind`; `None` starts at the first.
    fn list(
        &self,
        kind: ResourceType,
        page: Option<String>,
    ) -> impl Future<Output = Result<Page, ReadError>> + Send;
    /// Whom the resource is shared with now.
    fn targets(
        &self,
        kind: ResourceType,
        id: &str,
    ) -> impl Future<Output = Result<Vec<Target>, ReadError>> + Send;
}

/// The EC2 and RDS clients of one account and region.
#[derive(Debug, Clone)]
pub struct AwsInventory {
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    pace: Arc<Pace>,
}

impl AwsInventory {
    /// Clients for `account` in `region` from the account's SDK configuration (its
    /// credentials), with the SDK's adaptive retries: throttling that the pacing did not
    /// prevent is retried at a pace the SDK learns. Each account-region learns its own pace
    /// (a retry partition of its own), as EC2 keeps a bucket for each: one throttled region
    /// must not slow the others.
    pub fn new(sdk: &SdkConfig, settings: &ClientSettings, account: &str, region: &str) -> Self {
        use aws_config::retry::RetryConfig;
        use aws_sdk_ec2::config::retry::RetryPartition;
        let retry = RetryConfig::adaptive().with_max_attempts(8);
        let partition =
            |service: &str| RetryPartition::new(format!("audit-{service}-{account}-{region}"));
        let mut ec2 = aws_sdk_ec2::config::Builder::from(sdk)
            .region(aws_config::Region::new(region.to_owned()))
            .retry_config(retry.clone())
            .retry_partition(partition("ec2"));
        let mut rds = aws_sdk_rds::config::Builder::from(sdk)
            .region(aws_config::Region::new(region.to_owned()))
            .retry_config(retry)
            .retry_partition(partition("rds"));
        if let Some(url) = &settings.endpoint_url {
            ec2 = ec2.endpoint_url(url);
            rds = rds.endpoint_url(url);
        }
        AwsInventory {
            ec2: aws_sdk_ec2::Client::from_conf(ec2.build()),
            rds: aws_sdk_rds::Client::from_conf(rds.build()),
            pace: Arc::new(Pace::ec2()),
        }
    }
}

impl Inventory for AwsInventory {
    async fn block_public_access(&self, kind: ResourceType) -> Result<String, ReadError> {
        let call = match kind {
            ResourceType::Image => "GetImageBlockPublicAccessState",
            _ => "GetSnapshotBlockPublicAccessState",
        };
        self.pace.take(call).await;
        crate::permission::block_public_access(&self.ec2, kind).await
    }

    async fn list(&self, kind: ResourceType, page: Option<String>) -> Result<Page, ReadError> {
        match kind {
            ResourceType::Image => {
                const CALL: &str = "DescribeImages";
                self.pace.take(CALL).await;
                let out = self
                    .ec2
                    .describe_images()
                    .owners("self")
                    .include_deprecated(true)
                    .include_disabled(true)
                    .max_results(1000)
                    .set_next_token(page)
                    .send()
                    .await
                    .map_err(|e| failed(CALL, e))?;
                Ok(Page {
                    ids: out
                        .images()
                        .iter()
                        .filter_map(|i| i.image_id())
                        .map(str::to_owned)
                        .collect(),
                    next: out
                        .next_token()
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned),
                })
            }
            ResourceType::DbSnapshot => {
                const CALL: &str = "DescribeDBSnapshots";
                self.pace.take(CALL).await;
                // Only manual snapshots can be shared.
                let out = self
                    .rds
                    .describe_db_snapshots()
                    .snapshot_type("manual")
                    .set_marker(page)
                    .send()
                    .await
                    .map_err(|e| failed(CALL, e))?;
                Ok(Page {
                    ids: out
                        .db_snapshots()
                        .iter()
                        .filter_map(|s| s.db_snapshot_identifier())
                        .map(str::to_owned)
                        .collect(),
                    next: out.marker().filter(|t| !t.is_empty()).map(str::to_owned),
                })
            }
            ResourceType::DbClusterSnapshot => {
                const CALL: &str = "DescribeDBClusterSnapshots";
                self.pace.take(CALL).await;
                let out = self
                    .rds
                    .describe_db_cluster_snapshots()
                    .snapshot_type("manual")
                    .set_marker(page)
                    .send()
                    .await
                    .map_err(|e| failed(CALL, e))?;
                Ok(Page {
                    ids: out
                        .db_cluster_snapshots()
                        .iter()
                        .filter_map(|s| s.db_cluster_snapshot_identifier())
                        .map(str::to_owned)
                        .collect(),
                    next: out.marker().filter(|t| !t.is_empty()).map(str::to_owned),
                })
            }
            _ => {
                const CALL: &str = "DescribeSnapshots";
                self.pace.take(CALL).await;
                let out = self
                    .ec2
                    .describe_snapshots()
                    .owner_ids("self")
                    .max_results(1000)
                    .set_next_token(page)
                    .send()
                    .await
                    .map_err(|e| failed(CALL, e))?;
                Ok(Page {
                    ids: out
                        .snapshots()
                        .iter()
                        .filter_map(|s| s.snapshot_id())
                        .map(str::to_owned)
                        .collect(),
                    next: out
                        .next_token()
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned),
                })
            }
        }
    }

    async fn targets(&self, kind: ResourceType, id: &str) -> Result<Vec<Target>, ReadError> {
        self.pace.take(crate::permission::read_call(kind)).await;
        crate::permission::targets(&self.ec2, &self.rds, kind, id).await
    }
}
