//! CloudWatch metrics in Embedded Metric Format: one JSON log line per invocation, which
//! CloudWatch Logs turns into metrics without an API call (and without `cloudwatch:*`
//! permissions).

use serde_json::{json, Map, Value};

use crate::lambda::Summary;

/// The metrics of one invocation: (name, unit, value).
fn values(s: &Summary) -> [(&'static str, &'static str, f64); 8] {
    [
        ("RecordsScanned", "Count", s.records as f64),
        ("Findings", "Count", s.findings as f64),
        ("FindingsPublished", "Count", s.published as f64),
        ("PublishFailures", "Count", s.undelivered as f64),
        ("ObjectsRead", "Count", s.objects as f64),
        ("ObjectsSkipped", "Count", s.skipped as f64),
        ("FailedUnits", "Count", s.failed_units as f64),
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
    line.insert("Trigger".into(), json!(summary.trigger));
    for (name, _, value) in values {
        line.insert(name.into(), json!(value));
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_line_with_every_metric_declared_and_valued() {
        let summary = Summary {
            trigger: "sqs",
            records: 892,
            findings: 5,
            published: 4,
            undelivered: 1,
            objects: 2,
            skipped: 1,
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
        assert_eq!(v["ObjectsSkipped"], 1.0);
        assert_eq!(v["Duration"], 1500.0);
        assert_eq!(v["Trigger"], "sqs");
    }
}
