//! The progress line `scan` redraws on a terminal, and byte counts for people.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::reader::Progress;

/// The end of a long name, to fit a status line.
fn short(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let skip = chars.len().saturating_sub(48);
    let tail: String = chars[skip..].iter().collect();
    if skip > 0 {
        format!("…{tail}")
    } else {
        tail
    }
}

/// A status line on stderr (a terminal), redrawn every 250 ms by a task of its own until
/// [`Ticker::stop`], which erases it if it was ever drawn: an input read in less than that
/// leaves stderr as it was.
pub(super) struct Ticker {
    task: JoinHandle<()>,
    drawn: Arc<AtomicBool>,
}

impl Ticker {
    /// Shows `name: line(time since the start)`.
    pub fn start(name: &str, line: impl Fn(Duration) -> String + Send + 'static) -> Self {
        let drawn = Arc::new(AtomicBool::new(false));
        let short = short(name);
        let task = tokio::spawn({
            let drawn = Arc::clone(&drawn);
            async move {
                let started = Instant::now();
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    drawn.store(true, Ordering::Relaxed);
                    eprint!("\r\x1b[2K{short}: {}", line(started.elapsed()));
                }
            }
        });
        Ticker { task, drawn }
    }

    /// Stops redrawing (once the task has stopped, so that no line comes after) and erases
    /// the line.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        if self.drawn.load(Ordering::Relaxed) {
            eprint!("\r\x1b[2K");
        }
    }
}

/// The status line of one input: bytes, speed, records, findings.
pub(super) fn read_line(progress: &Progress, elapsed: Duration) -> String {
    let bytes = progress.bytes.load(Ordering::Relaxed);
    let seconds = elapsed.as_secs_f64().max(0.001);
    format!(
        "{} ({}/s), {} records, {} findings",
        human_bytes(bytes),
        human_bytes((bytes as f64 / seconds) as u64),
        progress.records.load(Ordering::Relaxed),
        progress.findings.load(Ordering::Relaxed),
    )
}

/// Counters of a prefix scan, updated by the lister and the readers.
#[derive(Debug, Default)]
pub(super) struct PrefixProgress {
    /// Objects listed so far.
    pub listed: AtomicU64,
    /// Whether the listing is complete (then `listed` is the total).
    pub listing_done: AtomicBool,
    /// Objects read (or failed).
    pub done: AtomicU64,
    pub bytes: AtomicU64,
    pub findings: AtomicU64,
}

/// The status line of a prefix scan: objects, bytes, findings, objects per second and, once
/// the listing is complete, the time left.
pub(super) fn prefix_line(p: &PrefixProgress, elapsed: Duration) -> String {
    let done = p.done.load(Ordering::Relaxed);
    let listed = p.listed.load(Ordering::Relaxed);
    let seconds = elapsed.as_secs_f64().max(0.001);
    let rate = done as f64 / seconds;
    let total = if p.listing_done.load(Ordering::Relaxed) {
        let left = if rate > 0.0 {
            format!(", {:.0}s left", listed.saturating_sub(done) as f64 / rate)
        } else {
            String::new()
        };
        format!("{done}/{listed} objects{left}")
    } else {
        format!("{done} objects ({listed} listed so far)")
    };
    format!(
        "{total}, {}, {} findings, {rate:.0} objects/s",
        human_bytes(p.bytes.load(Ordering::Relaxed)),
        p.findings.load(Ordering::Relaxed),
    )
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
    fn prefix_progress_shows_the_time_left_once_the_total_is_known() {
        let p = PrefixProgress::default();
        p.listed.store(400, Ordering::Relaxed);
        p.done.store(100, Ordering::Relaxed);
        p.bytes.store(3 << 20, Ordering::Relaxed);
        p.findings.store(2, Ordering::Relaxed);
        let ten = Duration::from_secs(10);
        assert_eq!(
            prefix_line(&p, ten),
            "100 objects (400 listed so far), 3.0 MiB, 2 findings, 10 objects/s"
        );
        p.listing_done.store(true, Ordering::Relaxed);
        assert_eq!(
            prefix_line(&p, ten),
            "100/400 objects, 30s left, 3.0 MiB, 2 findings, 10 objects/s"
        );
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
