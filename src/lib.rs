//! Detects EBS snapshots shared with another AWS account or made public (MITRE ATT&CK T1537).

pub mod cloudtrail;
pub mod finding;
pub mod reader;
pub mod rule;
pub mod splitter;
