//! The objects S3 announces: one record of an S3 event notification, and EventBridge's
//! "Object Created" event, each read into the object to fetch.

use serde_json::Value;

use super::Work;
use crate::source::{decode_key, ObjectRef};

/// One record of an S3 event notification.
pub(super) fn s3_record(record: &Value) -> Work {
    let event = record
        .get("eventName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let bucket = record.pointer("/s3/bucket/name").and_then(Value::as_str);
    let key = record.pointer("/s3/object/key").and_then(Value::as_str);
    let (Some(bucket), Some(key)) = (bucket, key) else {
        return Work::Skip("S3 notification record without bucket or key".to_owned());
    };
    let key = decode_key(key);
    if !event.starts_with("ObjectCreated:") {
        return Work::Skip(format!(
            "S3 event {event} for s3://{bucket}/{key} is not an object creation"
        ));
    }
    let mut object = ObjectRef::new(bucket, key);
    object.size = record.pointer("/s3/object/size").and_then(Value::as_u64);
    object.version_id = record
        .pointer("/s3/object/versionId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Work::Object(object)
}

/// The object of an EventBridge "Object Created" event. AWS does not document whether these
/// keys are URL-encoded like S3 notifications; the key is used as given, and its decoded form
/// is tried if it does not exist.
pub(super) fn eventbridge_object(detail: &Value) -> Result<ObjectRef, String> {
    let bucket = detail.pointer("/bucket/name").and_then(Value::as_str);
    let key = detail.pointer("/object/key").and_then(Value::as_str);
    let (Some(bucket), Some(key)) = (bucket, key) else {
        return Err("EventBridge \"Object Created\" event without bucket or key".to_owned());
    };
    let mut object = ObjectRef::new(bucket, key);
    object.size = detail.pointer("/object/size").and_then(Value::as_u64);
    object.version_id = detail
        .pointer("/object/version-id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let decoded = decode_key(key);
    object.alt_key = (decoded != key).then_some(decoded);
    Ok(object)
}
