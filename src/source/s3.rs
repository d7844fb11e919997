//! The S3 adapter: `GetObject` streamed, `ListObjectsV2` a page at a time.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use tokio_util::io::SyncIoBridge;

use super::{Failure, ListRequest, Listing, ObjectError, ObjectRef, ObjectStore, Opened};
use crate::aws::describe;

/// Reads objects from S3.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3Store { client }
    }
}

impl ObjectStore for S3Store {
    async fn open(&self, object: &ObjectRef) -> Result<Opened, ObjectError> {
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

    async fn list(&self, request: &ListRequest) -> Result<Listing, ObjectError> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(&request.bucket)
            .prefix(&request.prefix)
            .set_delimiter(request.delimiter.map(String::from))
            .set_start_after(request.start_after.clone())
            .set_continuation_token(request.continuation.clone())
            .send()
            .await
            .map_err(|e| ObjectError {
                object: format!("s3://{}/{}", request.bucket, request.prefix),
                failure: classify(&e),
                reason: format!("ListObjectsV2 failed: {}", describe(&e)),
            })?;
        let objects = page
            .contents()
            .iter()
            .filter_map(|item| {
                let mut object = ObjectRef::new(&request.bucket, item.key()?);
                object.size = item.size().and_then(|n| u64::try_from(n).ok());
                Some(object)
            })
            .collect();
        let prefixes = page
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_owned))
            .collect();
        let next = page
            .is_truncated()
            .unwrap_or(false)
            .then(|| page.next_continuation_token().map(str::to_owned))
            .flatten();
        Ok(Listing {
            objects,
            prefixes,
            next,
        })
    }
}

impl S3Store {
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
