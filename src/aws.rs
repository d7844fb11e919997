//! The AWS SDK clients, built once with the production timeouts and retries, and SDK errors
//! described in one readable line.

use std::error::Error;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::{RetryConfig, RetryPartition};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// How the clients are built: the parts of the configuration that the SDK does not read from
/// the environment itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// Path-style S3 URLs, needed by local S3 emulators.
    pub s3_force_path_style: bool,
    /// The region of the findings topic: an SNS client signs for one region, and a topic of
    /// another region refuses its calls. `None`: the SDK's region.
    pub sns_region: Option<String>,
    /// The region of the trail bucket, when it is not the function's: S3 answers a request
    /// signed for another region with a redirect the SDK does not follow. `None`: the SDK's.
    pub s3_region: Option<String>,
    /// Every client's endpoint, instead of the SDK's (`AWS_ENDPOINT_URL`); tests point it at an
    /// emulator or a fault-injecting proxy.
    pub endpoint_url: Option<String>,
    pub timeouts: Timeouts,
    /// Attempts per S3 request, retries included, in the SDK's adaptive mode (which also
    /// slows down when S3 throttles). `None`: the SDK's standard mode, 3 attempts.
    pub retry_attempts: Option<u32>,
    /// A retry quota of their own for these clients (the SDK shares one per service and
    /// process otherwise): the fault tests keep one test's failures from throttling another's
    /// retries.
    pub retry_partition: Option<String>,
}

/// How long the clients wait. Retries are the SDK's standard mode (3 attempts, exponential
/// backoff with jitter), the same in production and in the fault tests; only S3 may use the
/// adaptive mode instead ([`ClientSettings::retry_attempts`], which `scan` sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To open a connection (every client).
    pub connect: Duration,
    /// One `PublishBatch` attempt: publishing is small and must not hang an invocation.
    pub publish_attempt: Duration,
    /// A whole `PublishBatch` call, retries included.
    pub publish: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            publish_attempt: Duration::from_secs(10),
            publish: Duration::from_secs(45),
        }
    }
}

/// The SDK's configuration from the environment, with our endpoint if one is set: what the
/// `*_from` functions build clients from.
pub async fn sdk_config(settings: &ClientSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// A client of `$krate` on the path to a published finding, built from an SDK configuration
/// with our endpoint, retry partition and [`bounded`] timeouts. One helper for every such
/// client: the SDK gives each service its own builder type, with the same methods.
macro_rules! bounded_client {
    ($krate:ident, $sdk:expr, $settings:expr, $service:literal, $region:expr) => {{
        let settings: &ClientSettings = $settings;
        let mut config = $krate::config::Builder::from($sdk);
        if let Some(url) = &settings.endpoint_url {
            config.set_endpoint_url(Some(url.clone()));
        }
        if let Some(region) = $region {
            config.set_region(Some(aws_config::Region::new(region.clone())));
        }
        if let Some(name) = &settings.retry_partition {
            config.set_retry_partition(Some(RetryPartition::new(format!("{name}-{}", $service))));
        }
        let config = config.timeout_config(bounded(settings.timeouts)).build();
        $krate::Client::from_conf(config)
    }};
}

/// The findings topic's client, signing for the topic's region. Publishing is small and must
/// not hang an invocation: each attempt and the whole call are bounded.
pub fn sns_from(sdk: &SdkConfig, settings: &ClientSettings) -> aws_sdk_sns::Client {
    bounded_client!(
        aws_sdk_sns,
        sdk,
        settings,
        "sns",
        settings.sns_region.as_ref()
    )
}

/// The idempotency store's client (`DEDUP_TABLE`). Each finding costs a call or two on the
/// path to SNS, so its calls are bounded like a publish.
pub fn dynamodb_from(sdk: &SdkConfig, settings: &ClientSettings) -> aws_sdk_dynamodb::Client {
    bounded_client!(aws_sdk_dynamodb, sdk, settings, "dynamodb", None::<&String>)
}

/// The Organizations client (`ORGANIZATION_ACCOUNTS=auto`), bounded like the others; the SDK
/// sends its calls to the partition's global endpoint whatever the region.
pub fn organizations_from(
    sdk: &SdkConfig,
    settings: &ClientSettings,
) -> aws_sdk_organizations::Client {
    bounded_client!(
        aws_sdk_organizations,
        sdk,
        settings,
        "organizations",
        None::<&String>
    )
}

/// The S3 client that reads log files: a connect timeout only (an object may take long to
/// stream), path-style URLs for emulators, the trail bucket's region, and with
/// [`ClientSettings::retry_attempts`] the SDK's adaptive retries (a back-fill meets S3's
/// throttling).
pub fn s3_from(sdk: &SdkConfig, settings: &ClientSettings) -> aws_sdk_s3::Client {
    let mut s3 = aws_sdk_s3::config::Builder::from(sdk);
    s3.set_timeout_config(Some(
        TimeoutConfig::builder()
            .connect_timeout(settings.timeouts.connect)
            .build(),
    ));
    if let Some(url) = &settings.endpoint_url {
        s3.set_endpoint_url(Some(url.clone()));
    }
    s3.set_force_path_style(Some(settings.s3_force_path_style));
    if let Some(region) = &settings.s3_region {
        s3.set_region(Some(aws_config::Region::new(region.clone())));
    }
    if let Some(name) = &settings.retry_partition {
        s3.set_retry_partition(Some(RetryPartition::new(format!("{name}-s3"))));
    }
    if let Some(attempts) = settings.retry_attempts {
        s3.set_retry_config(Some(RetryConfig::adaptive().with_max_attempts(attempts)));
    }
    aws_sdk_s3::Client::from_conf(s3.build())
}

/// The S3 and SNS clients built from an SDK configuration (credentials, region, endpoint) with
/// our timeouts, retries and region rules.
pub fn clients_from(
    sdk: &SdkConfig,
    settings: &ClientSettings,
) -> (aws_sdk_s3::Client, aws_sdk_sns::Client) {
    (s3_from(sdk, settings), sns_from(sdk, settings))
}

/// The partition of a region (`aws`, `aws-cn`, `aws-us-gov`), for ARNs.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The Security Hub client (`SECURITY_HUB`), bounded like a publish: importing is on the path
/// to a delivered finding.
pub fn securityhub_from(sdk: &SdkConfig, settings: &ClientSettings) -> aws_sdk_securityhub::Client {
    bounded_client!(
        aws_sdk_securityhub,
        sdk,
        settings,
        "securityhub",
        None::<&String>
    )
}

/// An SDK error as one line: the service's code and message, or the chain of causes of a
/// transport failure (no `Debug` dumps of requests and responses).
pub fn describe<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    if let SdkError::ServiceError(service) = e {
        let status = service.raw().status().as_u16();
        let code = e.code().unwrap_or("UnknownError");
        return match e.message() {
            Some(message) if !message.is_empty() => format!("{code}: {message} (HTTP {status})"),
            _ => format!("{code} (HTTP {status})"),
        };
    }
    crate::one_line(e)
}

/// The timeouts of a call on the path to a published finding (SNS, the idempotency store,
/// Organizations): bounded per attempt and as a whole, so that none can hang an invocation.
fn bounded(timeouts: Timeouts) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(timeouts.connect)
        .operation_attempt_timeout(timeouts.publish_attempt)
        .operation_timeout(timeouts.publish)
        .build()
}
