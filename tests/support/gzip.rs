//! gzip members, as CloudTrail writes its log files.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;

/// `data` as one gzip member, at the default level.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_level(data, Compression::default().level())
}

/// `data` as one gzip member at `level` (0: stored blocks, 1: fast, 9: best).
pub fn gzip_level(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A gzip CloudTrail log file of `records` (see [`super::records::log_file`]).
pub fn log_gz(records: &[Value]) -> Vec<u8> {
    gzip(&super::records::log_file(records))
}
