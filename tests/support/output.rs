//! What the binary prints: a finding a line on stdout.

use std::process::Output;

use serde_json::Value;

/// The findings on stdout, in order.
pub fn findings(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// The target (`userId`: an account id, or `all`) of each finding on stdout, in order.
pub fn targets(out: &Output) -> Vec<String> {
    findings(out)
        .iter()
        .map(|f| f["userId"].as_str().unwrap().to_owned())
        .collect()
}
