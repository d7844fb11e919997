//! The progress lines `scan` and `audit` redraw on a terminal, and byte counts for people.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::audit::Totals;
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

/// The status line of an audit: accounts and account-regions done, resources read of those
/// listed, exposures, the rate of reads and, once every account is entered, an estimate of the
/// time left: the longer of the listed resources still to read at the current rate and the
/// regions still to audit at the pace of those done.
pub(super) fn audit_line(t: &Totals, elapsed: Duration) -> String {
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let (planned, done) = (get(&t.planned), get(&t.accounts_done));
    let (scopes, regions) = (get(&t.scopes), get(&t.regions));
    let (listed, read) = (get(&t.listed), get(&t.resources));
    let seconds = elapsed.as_secs_f64().max(0.001);
    let rate = read as f64 / seconds;
    let regions_part = match scopes {
        0 => "entering accounts".to_owned(),
        n => format!("{regions}/{n} regions"),
    };
    let mut left = None;
    if scopes > 0 {
        let by_reads = (rate > 0.0).then(|| listed.saturating_sub(read) as f64 / rate);
        let by_regions =
            (regions > 0).then(|| seconds * scopes.saturating_sub(regions) as f64 / regions as f64);
        left = match (by_reads, by_regions) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    let left = left.map_or(String::new(), |s| format!(", ~{s:.0}s left"));
    format!(
        "{done}/{planned} accounts, {regions_part}, {read}/{listed} resources read, {} \
         exposures, {rate:.0} reads/s{left}",
        get(&t.exposures),
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
    fn audit_progress_counts_accounts_regions_and_reads_and_estimates_the_rest() {
        let t = Totals::default();
        t.planned.store(8, Ordering::Relaxed);
        let ten = Duration::from_secs(10);
        assert_eq!(
            audit_line(&t, ten),
            "0/8 accounts, entering accounts, 0/0 resources read, 0 exposures, 0 reads/s"
        );
        t.accounts_done.store(2, Ordering::Relaxed);
        t.scopes.store(16, Ordering::Relaxed);
        t.regions.store(4, Ordering::Relaxed);
        t.listed.store(1200, Ordering::Relaxed);
        t.resources.store(200, Ordering::Relaxed);
        t.exposures.store(5, Ordering::Relaxed);
        // 1,000 reads left at 20/s: 50 s; 12 regions left at 2.5 s each: 30 s.
        assert_eq!(
            audit_line(&t, ten),
            "2/8 accounts, 4/16 regions, 200/1200 resources read, 5 exposures, 20 reads/s, \
             ~50s left"
        );
        t.listed.store(220, Ordering::Relaxed);
        assert_eq!(
            audit_line(&t, ten),
            "2/8 accounts, 4/16 regions, 200/220 resources read, 5 exposures, 20 reads/s, \
             ~30s left"
        );
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
