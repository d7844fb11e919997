//! S3 Batch Operations: the engine AWS runs to call a function once per object of a manifest
//! (months of an organization trail's log files), retry what failed temporarily and report the
//! rest. Its invocation carries tasks; the answer must list every task with a result code.
//!
//! Schema 1.0 names the bucket by ARN (`s3BucketArn`) and URL-encodes the key; schema 2.0
//! names the bucket (`s3Bucket`) and may carry `userArguments`. A key is read as the schema
//! says and, if no such object exists, in its other spelling (see `ObjectRef::alt_key`).

use serde::Serialize;
use serde_json::Value;

use crate::source::{decode_key, ObjectRef};
use crate::tally::Tally;

/// The invocation's identity, echoed in the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub schema_version: String,
    pub invocation_id: String,
}

/// Whether `payload` is an S3 Batch Operations invocation.
pub fn is_invocation(payload: &Value) -> bool {
    payload.get(super::envelope::S3_BATCH.key).is_some() && payload.get("tasks").is_some()
}

/// One task: its id, and the object it names (or why it names none).
pub type Task = (String, Result<ObjectRef, String>);

/// The job and its tasks.
pub fn tasks(payload: &Value) -> (Job, Vec<Task>) {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let job = Job {
        schema_version: text(payload, "invocationSchemaVersion").unwrap_or_default(),
        invocation_id: text(payload, "invocationId").unwrap_or_default(),
    };
    let encoded = job.schema_version == "1.0";
    let tasks = payload
        .get("tasks")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|task| {
            let id = text(task, "taskId").unwrap_or_default();
            (id, object(task, encoded))
        })
        .collect();
    (job, tasks)
}

fn object(task: &Value, encoded: bool) -> Result<ObjectRef, String> {
    let text = |key: &str| task.get(key).and_then(Value::as_str);
    let bucket = text("s3Bucket")
        .or(text("s3BucketName"))
        .or_else(|| text("s3BucketArn").and_then(|arn| arn.rsplit(':').next()))
        .filter(|b| !b.is_empty())
        .ok_or("task without a bucket (s3Bucket or s3BucketArn)")?;
    let key = text("s3Key")
        .filter(|k| !k.is_empty())
        .ok_or("task without an s3Key")?;
    let decoded = decode_key(key);
    let (primary, other) = if encoded {
        (decoded, key.to_owned())
    } else {
        (key.to_owned(), decoded)
    };
    let mut object = ObjectRef::new(bucket, primary.clone());
    object.version_id = text("s3VersionId")
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    object.alt_key = (other != primary).then_some(other);
    Ok(object)
}

/// How a task ended, as S3 Batch Operations reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResultCode {
    /// Read to the end and every finding published.
    Succeeded,
    /// Worth another try: throttling, a timeout, a 5xx, a publish that failed.
    TemporaryFailure,
    /// No retry can help: the object is missing or denied, or not CloudTrail.
    PermanentFailure,
}

impl ResultCode {
    /// The code for a task's tally.
    pub fn of(tally: &Tally) -> Self {
        if tally.is_clean() {
            ResultCode::Succeeded
        } else if tally.retryable() {
            ResultCode::TemporaryFailure
        } else {
            ResultCode::PermanentFailure
        }
    }
}

/// The answer to an invocation: one result per task.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub invocation_schema_version: String,
    /// A key the job names that does not exist fails for good, not for a retry.
    pub treat_missing_keys_as: ResultCode,
    pub invocation_id: String,
    pub results: Vec<TaskResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    pub task_id: String,
    pub result_code: ResultCode,
    /// Why, in one line: what was read, or what went wrong. Goes to the completion report.
    pub result_string: String,
}

impl TaskResult {
    pub fn new(task_id: String, tally: &Tally) -> Self {
        let result_code = ResultCode::of(tally);
        let result_string = match result_code {
            ResultCode::Succeeded => format!(
                "{} records, {} findings, {} published",
                tally.records, tally.findings, tally.published
            ),
            _ => tally.error_line(),
        };
        TaskResult {
            task_id,
            result_code,
            // The completion report is a CSV of modest lines: keep the reason short.
            result_string: crate::text::clip_with(&result_string, 1024, "…"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::ErrorKind::{NotCloudTrail, Permanent, Transient};
    use serde_json::json;

    #[test]
    fn schema_1_names_the_bucket_by_arn_and_encodes_the_key() {
        let payload = json!({
            "invocationSchemaVersion": "1.0", "invocationId": "inv", "job": {"id": "j"},
            "tasks": [{"taskId": "t1", "s3Key": "AWSLogs/a+b%2Bc.json.gz", "s3VersionId": "v1",
                       "s3BucketArn": "arn:aws:s3:::trail"}]
        });
        assert!(is_invocation(&payload));
        let (job, tasks) = tasks(&payload);
        assert_eq!(job.schema_version, "1.0");
        assert_eq!(job.invocation_id, "inv");
        let object = tasks[0].1.as_ref().unwrap();
        assert_eq!(
            (object.bucket.as_str(), object.key.as_str()),
            ("trail", "AWSLogs/a b+c.json.gz")
        );
        assert_eq!(object.version_id.as_deref(), Some("v1"));
        assert_eq!(object.alt_key.as_deref(), Some("AWSLogs/a+b%2Bc.json.gz"));
    }

    #[test]
    fn schema_2_names_the_bucket() {
        let payload = json!({
            "invocationSchemaVersion": "2.0", "invocationId": "inv",
            "job": {"id": "j", "userArguments": {"a": "b"}},
            "tasks": [{"taskId": "t1", "s3Bucket": "trail", "s3Key": "AWSLogs/x.json.gz",
                       "s3VersionId": null},
                      {"taskId": "t2", "s3Bucket": "trail"}]
        });
        let (_, tasks) = tasks(&payload);
        let object = tasks[0].1.as_ref().unwrap();
        assert_eq!(object.key, "AWSLogs/x.json.gz");
        assert_eq!(
            (object.version_id.clone(), object.alt_key.clone()),
            (None, None)
        );
        assert_eq!(tasks[1].1, Err("task without an s3Key".to_owned()));
    }

    #[test]
    fn result_codes_follow_what_went_wrong() {
        let clean = Tally {
            records: 3,
            findings: 1,
            published: 1,
            ..Tally::default()
        };
        assert_eq!(ResultCode::of(&clean), ResultCode::Succeeded);
        let mut missing = Tally::default();
        missing.input_failed(Permanent, "s3://trail/x: GetObject failed: NoSuchKey");
        assert_eq!(ResultCode::of(&missing), ResultCode::PermanentFailure);
        let mut foreign = Tally::default();
        foreign.input_failed(NotCloudTrail, "s3://trail/config.json.gz: not CloudTrail");
        assert_eq!(ResultCode::of(&foreign), ResultCode::PermanentFailure);
        // One transient failure among permanent ones: the task is worth another try, also
        // once the tallies of several objects are added up.
        let mut throttled = Tally::default();
        throttled.input_failed(Transient, "s3://trail/y: SlowDown");
        let mut both = missing.clone();
        both.add(throttled);
        assert_eq!(ResultCode::of(&both), ResultCode::TemporaryFailure);
        let mut unpublished = missing.clone();
        unpublished.not_delivered(2, "topic down");
        assert_eq!(ResultCode::of(&unpublished), ResultCode::TemporaryFailure);
        let result = TaskResult::new("t".into(), &missing);
        assert_eq!(
            result.result_string,
            "s3://trail/x: GetObject failed: NoSuchKey"
        );
        let answer = serde_json::to_value(Response {
            invocation_schema_version: "2.0".into(),
            treat_missing_keys_as: ResultCode::PermanentFailure,
            invocation_id: "inv".into(),
            results: vec![result],
        })
        .unwrap();
        assert_eq!(
            answer,
            json!({"invocationSchemaVersion": "2.0", "treatMissingKeysAs": "PermanentFailure",
                   "invocationId": "inv", "results": [{"taskId": "t",
                   "resultCode": "PermanentFailure",
                   "resultString": "s3://trail/x: GetObject failed: NoSuchKey"}]})
        );
    }
}
