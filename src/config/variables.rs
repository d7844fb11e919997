//! Every variable the configuration reads, with one line each: what `--help` shows, and what a
//! test holds the configuration to.

/// Every variable [`Config::from_lookup`] reads, with one line for people: `--help` lists
/// them, and a test keeps the list and the reads in step. The table of
/// `docs/configuration.md` says more.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "FINDINGS_TOPIC_ARN",
        "SNS topic for findings (scan: with --publish); unset: stdout",
    ),
    (
        "SECURITY_HUB",
        "true: also import findings into AWS Security Hub (ASFF)",
    ),
    (
        "TRUSTED_SERVICES",
        "AWS services whose shares are expected (GuardDuty, Marketplace)",
    ),
    (
        "TRUSTED_ACCOUNT_IDS",
        "comma-separated accounts whose shares and uses are expected",
    ),
    (
        "NOTIFICATION_FORMAT",
        "SNS messages for people: json (default) or chatbot",
    ),
    (
        "DEDUP_TABLE",
        "DynamoDB table that keeps a finding from being published twice",
    ),
    (
        "ORGANIZATION_ACCOUNTS",
        "the organization's account ids, comma-separated, or auto",
    ),
    (
        "SUPPRESS_ORGANIZATION_SHARES",
        "true: do not publish shares inside the organization",
    ),
    (
        "AUDIT_ROLE_NAME",
        "audit: the role assumed in each member account",
    ),
    (
        "AUDIT_EXTERNAL_ID",
        "audit: the external id the member role requires, if any",
    ),
    (
        "AUDIT_ACCESS_ANALYZER",
        "audit: auto, or an analyzer ARN: snapshots from its findings",
    ),
    (
        "AUDIT_REGIONS",
        "audit: comma-separated regions; unset: every enabled region",
    ),
    (
        "ORGANIZATION_ID",
        "the organization id (o-...): AMI shares with it are no finding",
    ),
    (
        "DISABLED_RULES",
        "rule ids or kinds (attempt, ...) whose findings are left out",
    ),
    (
        "TRAIL_KEY_LAYOUT",
        "aws (default): skip other services' folders; any: read every key",
    ),
    (
        "MAX_OBJECT_BYTES",
        "most decompressed bytes read from one object or file (2GiB)",
    ),
    (
        "MAX_RECORD_BYTES",
        "largest record held in memory; larger ones are errors (8MiB)",
    ),
    (
        "MAX_CONCURRENT_OBJECTS",
        "S3 objects the Lambda function processes at once (4)",
    ),
    (
        "TRAIL_BUCKET_REGION",
        "the trail bucket's region, when it is not the SDK's",
    ),
    (
        "S3_FORCE_PATH_STYLE",
        "path-style S3 URLs (on when an AWS_ENDPOINT_URL is set)",
    ),
    (
        "AWS_ENDPOINT_URL",
        "every AWS client's endpoint, e.g. a local emulator",
    ),
    ("AWS_ENDPOINT_URL_S3", "S3's endpoint alone"),
    (
        "METRICS_NAMESPACE",
        "CloudWatch namespace of the function's metrics",
    ),
];
