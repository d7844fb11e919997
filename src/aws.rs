//! The AWS SDK clients, built once, and SDK errors described in one readable line.

use std::error::Error;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::config::Config;

/// The S3 and SNS clients. No network call happens here: credentials, region and endpoints
/// resolve on first use, so a cold start costs no round trip.
pub async fn clients(config: &Config) -> (aws_sdk_s3::Client, aws_sdk_sns::Client) {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .build(),
        )
        .load()
        .await;
    let s3 = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(config.s3_force_path_style)
        .build();
    // Publishing is small and must not hang an invocation: bound each attempt and the whole
    // call (retries included).
    let sns = aws_sdk_sns::config::Builder::from(&sdk)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(45))
                .build(),
        )
        .build();
    (
        aws_sdk_s3::Client::from_conf(s3),
        aws_sdk_sns::Client::from_conf(sns),
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
