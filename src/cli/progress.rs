//! The progress line `scan` redraws on a terminal, and byte counts for people.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::reader::Progress;

/// Redraws one status line on stderr (a terminal) until aborted.
pub(super) async fn show_progress(name: String, progress: Arc<Progress>) {
    let started = Instant::now();
    let short: String = {
        let chars: Vec<char> = name.chars().collect();
        let skip = chars.len().saturating_sub(48);
        let tail: String = chars[skip..].iter().collect();
        if skip > 0 {
            format!("…{tail}")
        } else {
            tail
        }
    };
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let bytes = progress.bytes.load(Ordering::Relaxed);
        let seconds = started.elapsed().as_secs_f64().max(0.001);
        eprint!(
            "\r\x1b[2K{short}: {} ({}/s), {} records, {} findings",
            human_bytes(bytes),
            human_bytes((bytes as f64 / seconds) as u64),
            progress.records.load(Ordering::Relaxed),
            progress.findings.load(Ordering::Relaxed),
        );
    }
}

pub(super) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
