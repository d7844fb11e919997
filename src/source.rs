//! Where an object's bytes come from: S3, streamed.
//!
//! [`S3Source::open`] returns the body of a `GetObject` as a blocking [`std::io::Read`] (to be
//! used on a blocking thread, see [`crate::pipeline`]): bytes are pulled from the network as the
//! reader consumes them, never buffered whole.

use std::fmt;
use std::io::Read;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use percent_encoding::percent_decode_str;
use tokio_util::io::SyncIoBridge;

use crate::aws::describe;

/// An S3 object to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    /// Size as the notification gave it.
    pub size: Option<u64>,
    /// Another spelling of the key to try if `key` does not exist (see
    /// [`crate::trigger`]: EventBridge keys whose encoding AWS does not document).
    pub alt_key: Option<String>,
}

impl ObjectRef {
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
            version_id: None,
            size: None,
            alt_key: None,
        }
    }

    /// `s3://bucket/key`: how findings name their log file.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Why this object is not a CloudTrail log file to read, judged by its key and size.
    pub fn skip_reason(&self) -> Option<&'static str> {
        if self.key.ends_with('/') {
            Some("a folder marker, not a log file")
        } else if self.size == Some(0) {
            Some("empty (zero bytes)")
        } else if self.key.contains("/CloudTrail-Digest/") {
            Some("a CloudTrail digest file, not a log file")
        } else if self.key.contains("/CloudTrail-Insight/") {
            Some("a CloudTrail Insights file, not a log file")
        } else {
            None
        }
    }
}

/// `s3://bucket/key (version v, n bytes)`: how errors name an object.
impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)?;
        match (&self.version_id, self.size) {
            (Some(v), Some(n)) => write!(f, " (version {v}, {n} bytes)"),
            (Some(v), None) => write!(f, " (version {v})"),
            (None, Some(n)) => write!(f, " ({n} bytes)"),
            (None, None) => Ok(()),
        }
    }
}

/// Decodes an S3 event notification key: form-URL encoding, where `+` is a space and `%XX` a
/// byte (a literal `+` arrives as `%2B`). A key that does not decode to UTF-8 is kept as is.
pub fn decode_key(encoded: &str) -> String {
    let spaced = encoded.replace('+', " ");
    match percent_decode_str(&spaced).decode_utf8() {
        Ok(key) => key.into_owned(),
        Err(_) => encoded.to_owned(),
    }
}

/// Why an object could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    NotFound,
    AccessDenied,
    /// Throttling, 5xx, network: what the SDK's own retries did not overcome.
    Transient,
    Other,
}

/// An object that could not be opened, with the reason S3 gave.
#[derive(Debug, thiserror::Error)]
#[error("{object}: {reason}")]
pub struct ObjectError {
    pub object: String,
    pub failure: Failure,
    pub reason: String,
}

/// An opened object: its body and what S3 said about it.
pub struct Opened {
    pub body: Box<dyn Read + Send>,
    /// The object as read, with the key that worked and the size and version S3 returned.
    pub object: ObjectRef,
}

/// Reads objects from S3.
#[derive(Debug, Clone)]
pub struct S3Source {
    client: aws_sdk_s3::Client,
}

impl S3Source {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3Source { client }
    }

    /// Starts a `GetObject`; must be called inside the Tokio runtime, and the body read on a
    /// blocking thread.
    pub async fn open(&self, object: &ObjectRef) -> Result<Opened, ObjectError> {
        let mut result = self.get(object, &object.key).await;
        let mut key = &object.key;
        if let (Err(e), Some(alt)) = (&result, &object.alt_key) {
            if e.failure == Failure::NotFound && alt != key {
                tracing::info!(object = %object, alt_key = %alt, "key not found; trying it decoded");
                key = alt;
                result = self.get(object, alt).await;
            }
        }
        let output = result?;
        let opened = ObjectRef {
            bucket: object.bucket.clone(),
            key: key.clone(),
            version_id: output
                .version_id()
                .map(str::to_owned)
                .or(object.version_id.clone()),
            size: output
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .or(object.size),
            alt_key: None,
        };
        let body = SyncIoBridge::new(Box::pin(output.body.into_async_read()));
        Ok(Opened {
            body: Box::new(body),
            object: opened,
        })
    }

    async fn get(
        &self,
        object: &ObjectRef,
        key: &str,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, ObjectError> {
        self.client
            .get_object()
            .bucket(&object.bucket)
            .key(key)
            .set_version_id(object.version_id.clone())
            .send()
            .await
            .map_err(|e| ObjectError {
                object: object.to_string(),
                failure: classify(&e),
                reason: format!("GetObject failed: {}", describe(&e)),
            })
    }

    /// Lists the objects under `prefix`, in key order, with their sizes.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectRef>, ObjectError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| ObjectError {
                object: format!("s3://{bucket}/{prefix}"),
                failure: classify(&e),
                reason: format!("ListObjectsV2 failed: {}", describe(&e)),
            })?;
            for item in page.contents() {
                let Some(key) = item.key() else { continue };
                let mut object = ObjectRef::new(bucket, key);
                object.size = item.size().and_then(|n| u64::try_from(n).ok());
                objects.push(object);
            }
        }
        Ok(objects)
    }
}

fn classify<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Failure {
    match e {
        SdkError::ServiceError(service) => match service.err().code() {
            Some("NoSuchKey" | "NoSuchBucket" | "NotFound" | "NoSuchVersion") => Failure::NotFound,
            Some("AccessDenied" | "AllAccessDisabled" | "InvalidAccessKeyId") => {
                Failure::AccessDenied
            }
            Some("SlowDown" | "ServiceUnavailable" | "InternalError" | "RequestTimeout") => {
                Failure::Transient
            }
            _ => Failure::Other,
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Failure::Transient
        }
        _ => Failure::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_as_forms_do() {
        assert_eq!(decode_key("Happy%20Face.jpg"), "Happy Face.jpg");
        assert_eq!(decode_key("red+flower.jpg"), "red flower.jpg");
        assert_eq!(
            decode_key("c%2B%2B+notes%3A1.json.gz"),
            "c++ notes:1.json.gz"
        );
        assert_eq!(decode_key("caf%C3%A9/x"), "café/x");
        assert_eq!(decode_key("plain/key.json.gz"), "plain/key.json.gz");
        // Not UTF-8 once decoded: keep what was given.
        assert_eq!(decode_key("bad%FF"), "bad%FF");
    }

    #[test]
    fn what_is_not_a_log_file() {
        let base = "AWSLogs/111122223333/";
        let mut o = ObjectRef::new(
            "b",
            format!("{base}CloudTrail-Digest/us-east-1/2024/x.json.gz"),
        );
        assert!(o.skip_reason().unwrap().contains("digest"));
        o.key = format!("{base}CloudTrail-Insight/us-east-1/2024/x.json.gz");
        assert!(o.skip_reason().unwrap().contains("Insights"));
        o.key = format!("{base}CloudTrail/");
        assert!(o.skip_reason().unwrap().contains("folder"));
        o.key = format!("{base}CloudTrail/us-east-1/2024/01/01/x.json.gz");
        assert_eq!(o.skip_reason(), None);
        o.size = Some(0);
        assert!(o.skip_reason().unwrap().contains("zero"));
    }

    #[test]
    fn objects_are_named_with_version_and_size() {
        let mut o = ObjectRef::new("trail", "a b/c.json.gz");
        assert_eq!(o.to_string(), "s3://trail/a b/c.json.gz");
        o.version_id = Some("v1".into());
        o.size = Some(42);
        assert_eq!(
            o.to_string(),
            "s3://trail/a b/c.json.gz (version v1, 42 bytes)"
        );
    }
}
