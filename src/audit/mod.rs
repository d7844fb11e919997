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
