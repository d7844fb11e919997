//! The scan loop: local inputs one after the other, and S3 prefixes with many objects in
//! flight while the listing goes on, findings printed in key order.

use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::sync::{mpsc, Semaphore};

use super::inputs::Input;
use super::layout::{self, Filters};
use super::progress::{prefix_line, read_line, PrefixProgress, Ticker};
use crate::pipeline::Pipeline;
use crate::reader::Progress;
use crate::sink::Sink;
use crate::source::{ListRequest, Listing, ObjectError, ObjectRef, ObjectStore, Opened, S3Url};
use crate::tally::{ErrorKind, Tally};

/// Scans inputs, keeping the totals.
pub(super) struct Scanner<T> {
    pub pipeline: Pipeline<Box<dyn Sink>, T>,
    /// Whether to show a progress line on stderr.
    pub progress: bool,
    /// Objects read at once under a prefix.
    pub concurrency: usize,
    pub filters: Filters,
    /// Write the S3 Batch Operations manifest here instead of scanning (`-`: stdout).
    pub manifest: Option<String>,
    pub totals: Tally,
    /// Prefixes the filters skipped without listing them.
    pub pruned: u64,
}

/// What S3 Batch Operations requires encoded in a manifest key: everything but letters,
/// digits, `/` and the unreserved marks.
const MANIFEST_KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl<T: ObjectStore> Scanner<T> {
    pub async fn run(mut self, inputs: Vec<io::Result<Input>>) -> (Tally, u64) {
        let mut manifest: Option<Box<dyn Write>> = match self.manifest.as_deref() {
            None => None,
            Some("-") => Some(Box::new(io::stdout().lock())),
            Some(path) => match File::create(path) {
                Ok(file) => Some(Box::new(io::BufWriter::new(file))),
                Err(e) => {
                    self.failed(format!("{path}: {e}"));
                    return (self.totals, self.pruned);
                }
            },
        };
        for input in inputs {
            match input {
                Err(e) => self.failed(e),
                Ok(Input::S3(S3Url::Prefix { bucket, prefix })) => {
                    self.prefix(&bucket, &prefix, manifest.as_mut()).await
                }
                Ok(Input::S3(S3Url::Object(object))) => match manifest.as_mut() {
                    Some(out) => self.manifest_line(out, &object),
                    None => self.object(object).await,
                },
                Ok(_) if manifest.is_some() => {
                    self.failed("--manifest takes s3:// inputs only");
                }
                Ok(Input::Stdin) => {
                    self.read(io::stdin(), "stdin".to_owned(), "-".to_owned())
                        .await
                }
                Ok(Input::File(path)) => {
                    let name = path.display().to_string();
                    match File::open(&path) {
                        Ok(file) => self.read(file, name.clone(), name).await,
                        Err(e) => self.failed(format!("{name}: {e}")),
                    }
                }
            }
        }
        if let Some(Err(e)) = manifest.as_mut().map(|out| out.flush()) {
            self.failed(format!("manifest: {e}"));
        }
        (self.totals, self.pruned)
    }

    /// Every object under `prefix` that the filters let through. The walk lists (depth-first,
    /// in key order, many prefixes at once) while objects are fetched and read, up to
    /// `concurrency` requests of either kind at once; findings are published in key order, so
    /// the output does not depend on which finished first. Memory holds the requests in
    /// flight and the findings of at most `4 * concurrency` objects waiting for their turn,
    /// not the listing.
    async fn prefix(&mut self, bucket: &str, prefix: &str, manifest: Option<&mut Box<dyn Write>>) {
        let layout = self.pipeline.settings().key_layout;
        let Some(store) = self.pipeline.store() else {
            return;
        };
        // One bound on the requests in flight, LISTs and reads together: S3 throttles a prefix
        // on the sum (5,500 GET and LIST a second), and `--concurrency` is the one setting.
        let permits = &Semaphore::new(self.concurrency);
        let listed = &Permitted { store, permits };
        let (tx, rx) = mpsc::channel::<ObjectRef>(4 * self.concurrency);
        let progress = Arc::new(PrefixProgress::default());
        let ticker = self.progress.then(|| {
            let progress = Arc::clone(&progress);
            Ticker::start(&format!("s3://{bucket}/{prefix}"), move |elapsed| {
                prefix_line(&progress, elapsed)
            })
        });
        let listing = {
            let progress = Arc::clone(&progress);
            let filters = &self.filters;
            let bound = self.concurrency;
            async move {
                let (counted_tx, mut counted_rx) = mpsc::channel::<ObjectRef>(1);
                // Count what the walk hands out, then pass it on.
                // The sender lives in the walk and closes when it ends.
                let walk = async move {
                    layout::walk(listed, bucket, prefix, filters, bound, &counted_tx).await
                };
                let forward = async {
                    while let Some(object) = counted_rx.recv().await {
                        progress.listed.fetch_add(1, Ordering::Relaxed);
                        if tx.send(object).await.is_err() {
                            break;
                        }
                    }
                };
                let (walked, ()) = tokio::join!(walk, forward);
                progress.listing_done.store(true, Ordering::Relaxed);
                walked
            }
        };
        let objects = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|o| (o, rx)) });
        let pipeline = &self.pipeline;
        let totals = &mut self.totals;
        let reading = async {
            match manifest {
                Some(out) => {
                    objects
                        .for_each(|object| {
                            if object.skip_reason_in(layout).is_none() {
                                totals.objects += 1;
                                write_manifest_line(out, &object, totals);
                            } else {
                                totals.skipped += 1;
                            }
                            progress.done.fetch_add(1, Ordering::Relaxed);
                            async {}
                        })
                        .await
                }
                None => {
                    // `concurrency` reads at once (the permits), but a window four times as
                    // wide for the order: one slow object at the head does not hold the
                    // others back, their findings wait for it in memory instead.
                    objects
                        .map(|object| async move {
                            let _permit = permits.acquire().await;
                            pipeline.object_findings(&object).await
                        })
                        .buffered(4 * self.concurrency)
                        .then(|(findings, mut tally)| async {
                            tally.add(pipeline.publish(findings).await);
                            tally
                        })
                        .for_each(|tally| {
                            progress.done.fetch_add(1, Ordering::Relaxed);
                            progress.bytes.fetch_add(tally.bytes, Ordering::Relaxed);
                            progress
                                .findings
                                .fetch_add(tally.findings, Ordering::Relaxed);
                            for error in &tally.errors {
                                eprintln!("\r\x1b[2Kerror: {error}");
                            }
                            totals.add(tally);
                            async {}
                        })
                        .await
                }
            }
        };
        let (walked, ()) = tokio::join!(listing, reading);
        if let Some(ticker) = ticker {
            ticker.stop().await;
        }
        match walked {
            Ok(walked) => self.pruned += walked.pruned,
            Err(e) => self.failed(e),
        }
    }

    fn manifest_line(&mut self, out: &mut Box<dyn Write>, object: &ObjectRef) {
        self.totals.objects += 1;
        write_manifest_line(out, object, &mut self.totals);
    }

    async fn object(&mut self, object: ObjectRef) {
        let tally = self.pipeline.object(&object, None).await;
        for error in &tally.errors {
            eprintln!("error: {error}");
        }
        self.totals.add(tally);
    }

    /// Reads one input; `name` is for messages, `origin` for findings.
    async fn read<R: std::io::Read + Send + 'static>(
        &mut self,
        input: R,
        name: String,
        origin: String,
    ) {
        let progress = self.progress.then(|| Arc::new(Progress::default()));
        let ticker = progress
            .clone()
            .map(|p| Ticker::start(&name, move |elapsed| read_line(&p, elapsed)));
        let tally = self.pipeline.stream(input, &name, origin, progress).await;
        if let Some(ticker) = ticker {
            ticker.stop().await;
        }
        for error in &tally.errors {
            eprintln!("error: {error}");
        }
        self.totals.add(tally);
    }

    fn failed(&mut self, error: impl std::fmt::Display) {
        self.totals.objects += 1;
        self.totals
            .input_failed(ErrorKind::Permanent, error.to_string());
        eprintln!("error: {error}");
    }
}

/// A store whose LISTs take a permit of the reads' semaphore: the walk's requests count in the
/// same bound as the reads.
struct Permitted<'a, T> {
    store: &'a T,
    permits: &'a Semaphore,
}

impl<T: ObjectStore> ObjectStore for Permitted<'_, T> {
    async fn open(&self, object: &ObjectRef) -> Result<Opened, ObjectError> {
        self.store.open(object).await
    }

    async fn list(&self, request: &ListRequest) -> Result<Listing, ObjectError> {
        let _permit = self.permits.acquire().await;
        self.store.list(request).await
    }
}

/// One `bucket,key` line of an S3 Batch Operations CSV manifest.
fn write_manifest_line(out: &mut Box<dyn Write>, object: &ObjectRef, totals: &mut Tally) {
    let key = utf8_percent_encode(&object.key, MANIFEST_KEY);
    if let Err(e) = writeln!(out, "{},{key}", object.bucket) {
        totals.input_failed(ErrorKind::Permanent, format!("manifest: {e}"));
    }
}
