//! CloudWatch metrics in Embedded Metric Format: one JSON log line per invocation, which
//! CloudWatch Logs turns into metrics without an API call (and without `cloudwatch:*`
//! permissions).

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::tally::Tally;
use crate::trigger::Trigger;

/// What one invocation did: logged as one line, turned into metrics, returned to direct callers.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub trigger: Trigger,
    /// Units of work: the invocation, or each SQS message.
    pub units: usize,
    pub failed_units: usize,
    #[serde(flatten)]
    pub tally: Tally,
    #[serde(skip)]
    pub duration: Duration,
}

impl Summary {
    /// One log line with what the invocation did.
    pub fn log(&self) {
        let t = &self.tally;
        tracing::info!(
            trigger = self.trigger.as_str(),
            units = self.units,
            failed_units = self.failed_units,
            objects = t.objects,
            skipped = t.skipped,
            records = t.records,
            findings = t.findings,
            published = t.published,
            duplicates = t.duplicates,
            suppressed = t.suppressed,
            undelivered = t.undelivered,
            remediated = t.remediated,
            remediation_failures = t.remediation_failures,
            not_cloudtrail = t.not_cloudtrail,
            duration_ms = self.duration.as_millis() as u64,
            "invocation summary"
        );
    }
}

/// The metrics of one invocation: (name, unit, value).
fn values(s: &Summary) -> [(&'static str, &'static str, f64); 13] {
    let t = &s.tally;
    [
        ("RecordsScanned", "Count", t.records as f64),
        ("Findings", "Count", t.findings as f64),
        ("FindingsPublished", "Count", t.published as f64),
        ("PublishFailures", "Count", t.undelivered as f64),
        ("DuplicatesSuppressed", "Count", t.duplicates as f64),
        ("OrganizationSharesSuppressed", "Count", t.suppressed as f64),
        ("ObjectsRead", "Count", t.objects as f64),
        ("ObjectsSkipped", "Count", t.skipped as f64),
        ("NotCloudTrail", "Count", t.not_cloudtrail as f64),
        ("FailedUnits", "Count", s.failed_units as f64),
        ("Remediated", "Count", t.remediated as f64),
        (
            "RemediationFailures",
            "Count",
            t.remediation_failures as f64,
        ),
        (
            "Duration",
            "Milliseconds",
            s.duration.as_secs_f64() * 1000.0,
        ),
    ]
}

/// The EMF line for `summary`. `function` (the Lambda function name) is the one dimension, so
/// that two deployments in one account keep apart; `timestamp_ms` is the time of the metrics.
pub fn emf_line(summary: &Summary, namespace: &str, function: &str, timestamp_ms: u64) -> String {
    let values = values(summary);
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["FunctionName"]],
                "Metrics": definitions,
            }],
        }),
    );
    line.insert("FunctionName".into(), json!(function));
    line.insert("Trigger".into(), json!(summary.trigger.as_str()));
    for (name, _, value) in values {
        line.insert(name.into(), json!(value));
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_every_metric_declared_and_valued() {
        let summary = Summary {
            trigger: Trigger::Sqs,
            tally: Tally {
                records: 892,
                findings: 5,
                published: 4,
                undelivered: 1,
                duplicates: 3,
                objects: 2,
                skipped: 1,
                remediation_failures: 2,
                ..Tally::default()
            },
            failed_units: 1,
            duration: Duration::from_millis(1500),
            ..Summary::default()
        };
        let line = emf_line(
            &summary,
            "SnapshotShareDetector",
            "detector",
            1_700_000_000_000,
        );
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000u64);
        assert_eq!(cw["Namespace"], "SnapshotShareDetector");
        assert_eq!(cw["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(v["FunctionName"], "detector");
        for metric in cw["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(v[name].is_number(), "{name} has no value");
        }
        assert_eq!(v["RecordsScanned"], 892.0);
        assert_eq!(v["PublishFailures"], 1.0);
        assert_eq!(v["DuplicatesSuppressed"], 3.0);
        assert_eq!(v["OrganizationSharesSuppressed"], 0.0);
        assert_eq!(v["ObjectsSkipped"], 1.0);
        assert_eq!(v["Duration"], 1500.0);
        assert_eq!(v["RemediationFailures"], 2.0);
        assert_eq!(v["Remediated"], 0.0);
        assert_eq!(v["Trigger"], "sqs");
    }
}
