//! The Lambda function: classify the payload, do its work, answer so that nothing is lost.
//!
//! - An SQS-triggered invocation answers with `batchItemFailures` naming exactly the messages
//!   whose object could not be read or whose findings could not be published; SQS delivers
//!   those again and deletes the rest.
//! - Any other invocation fails as a whole if anything failed, so that Lambda (asynchronous
//!   invocation, EventBridge) retries the event.
//! - A payload that is not recognised is logged and ends successfully: no retry could help.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsBatchResponse;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;

use crate::pipeline::{Outcome, Pipeline};
use crate::sink::Sink;
use crate::source::S3Source;
use crate::trigger::{self, Unit, Work};

/// The function's state, built once per execution environment.
#[derive(Debug)]
pub struct Handler<S> {
    pipeline: Pipeline<S>,
    s3: Option<S3Source>,
    concurrency: usize,
}

/// What one invocation did: logged as one line, returned to direct callers.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub trigger: &'static str,
    pub units: usize,
    pub failed_units: usize,
    pub objects: usize,
    pub skipped: usize,
    pub records: u64,
    pub findings: u64,
    pub published: usize,
    pub undelivered: usize,
    pub errors: Vec<String>,
    #[serde(skip)]
    pub duration: Duration,
}

/// What one unit (the invocation, or one SQS message) did.
#[derive(Debug, Default)]
struct UnitReport {
    message_id: Option<String>,
    objects: usize,
    skipped: usize,
    records: u64,
    findings: u64,
    published: usize,
    undelivered: usize,
    errors: Vec<String>,
}

impl UnitReport {
    fn add(&mut self, outcome: &Outcome, origin: Option<&str>) {
        self.records += outcome.scan.records;
        self.findings += outcome.scan.findings;
        self.published += outcome.published;
        self.undelivered += outcome.undelivered();
        if let Some(error) = outcome.error_summary() {
            self.errors.push(match origin {
                Some(origin) => format!("{origin}: {error}"),
                None => error,
            });
        }
    }
}

/// The invocation failed; Lambda will deliver the event again.
#[derive(Debug, thiserror::Error)]
#[error("{undelivered} findings undelivered; {failed} of {units} units failed: {details}")]
pub struct InvocationError {
    pub undelivered: usize,
    pub failed: usize,
    pub units: usize,
    pub details: String,
}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(e: InvocationError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "InvocationError".to_owned(),
            error_message: e.to_string(),
        }
    }
}

impl<S: Sink> Handler<S> {
    /// `s3` is needed for triggers that name S3 objects; without it they fail.
    pub fn new(pipeline: Pipeline<S>, s3: Option<S3Source>, concurrency: usize) -> Self {
        Handler {
            pipeline,
            s3,
            concurrency: concurrency.max(1),
        }
    }

    pub fn pipeline(&self) -> &Pipeline<S> {
        &self.pipeline
    }

    /// Handles one invocation payload. Returns the response and a summary of the work.
    pub async fn handle(&self, payload: Value) -> (Result<Value, InvocationError>, Summary) {
        let started = Instant::now();
        let invocation = trigger::classify(payload);
        let sqs = invocation.sqs;
        let reports: Vec<UnitReport> = stream::iter(invocation.units)
            .map(|unit| self.unit(unit))
            .buffered(self.concurrency)
            .collect()
            .await;

        let mut summary = Summary {
            trigger: invocation.trigger,
            units: reports.len(),
            ..Summary::default()
        };
        let mut batch_response = SqsBatchResponse::default();
        for r in &reports {
            summary.objects += r.objects;
            summary.skipped += r.skipped;
            summary.records += r.records;
            summary.findings += r.findings;
            summary.published += r.published;
            summary.undelivered += r.undelivered;
            summary.errors.extend(r.errors.iter().cloned());
            if !r.errors.is_empty() {
                summary.failed_units += 1;
                if let Some(id) = &r.message_id {
                    batch_response.add_failure(id.clone());
                }
            }
        }
        summary.duration = started.elapsed();

        let response = if sqs {
            Ok(serde_json::to_value(batch_response).unwrap_or(Value::Null))
        } else if summary.failed_units > 0 {
            Err(InvocationError {
                undelivered: summary.undelivered,
                failed: summary.failed_units,
                units: summary.units,
                details: summary.errors.join("; "),
            })
        } else {
            Ok(serde_json::to_value(&summary).unwrap_or(Value::Null))
        };
        (response, summary)
    }

    async fn unit(&self, unit: Unit) -> UnitReport {
        let mut report = UnitReport {
            message_id: unit.message_id,
            ..UnitReport::default()
        };
        for work in unit.work {
            match work {
                Work::Record { record, account } => {
                    let outcome = self.pipeline.record(&record, account.as_deref()).await;
                    report.add(&outcome, None);
                }
                Work::Skip(reason) => {
                    report.skipped += 1;
                    tracing::warn!(
                        message_id = report.message_id.as_deref(),
                        "skipped: {reason}"
                    );
                }
                Work::Object(object) => {
                    if let Some(reason) = object.skip_reason() {
                        report.skipped += 1;
                        tracing::info!(object = %object, "skipped: {reason}");
                        continue;
                    }
                    report.objects += 1;
                    let Some(s3) = &self.s3 else {
                        report
                            .errors
                            .push(format!("{object}: no S3 client configured"));
                        continue;
                    };
                    let opened = match s3.open(&object).await {
                        Ok(opened) => opened,
                        Err(e) => {
                            tracing::error!(object = %object, failure = ?e.failure, "{e}");
                            report.errors.push(e.to_string());
                            continue;
                        }
                    };
                    let name = opened.object.to_string();
                    let outcome = self
                        .pipeline
                        .stream(opened.body, opened.object.url(), None)
                        .await;
                    if outcome.scan.records == 0 && outcome.scan.is_clean() {
                        tracing::info!(object = %name, "no records in the object");
                    }
                    if let Some(error) = outcome.error_summary() {
                        tracing::error!(object = %name, "{error}");
                    }
                    report.add(&outcome, Some(&name));
                }
            }
        }
        report
    }
}

/// Starts the Lambda runtime with a handler built from the environment.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = crate::config::Config::from_env()?;
    for odd in config.settings.trusted.suspicious() {
        tracing::warn!("TRUSTED_ACCOUNT_IDS entry {odd:?} is not a 12-digit account id");
    }
    let (s3, sns) = crate::aws::clients(&config).await;
    match &config.topic_arn {
        Some(arn) => {
            let sink = crate::sink::SnsSink::new(sns, arn.clone());
            serve(
                Handler::new(
                    Pipeline::new(sink, config.settings.clone()),
                    Some(S3Source::new(s3)),
                    config.concurrency,
                ),
                config.metrics_namespace.clone(),
            )
            .await
        }
        None => {
            tracing::warn!(
                "FINDINGS_TOPIC_ARN is not set: findings go to stdout (the function's log)"
            );
            serve(
                Handler::new(
                    Pipeline::new(crate::sink::Stdout, config.settings.clone()),
                    Some(S3Source::new(s3)),
                    config.concurrency,
                ),
                config.metrics_namespace.clone(),
            )
            .await
        }
    }
}

async fn serve<S: Sink>(
    handler: Handler<S>,
    namespace: String,
) -> Result<(), lambda_runtime::Error> {
    let handler = &handler;
    let namespace = namespace.as_str();
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".to_owned());
    let function = function.as_str();
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            let (response, summary) = handler.handle(event.payload).await;
            log_summary(&summary);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            // Straight to stdout: CloudWatch Logs reads EMF from the raw line.
            println!(
                "{}",
                crate::metrics::emf_line(&summary, namespace, function, now)
            );
            if let Err(e) = &response {
                tracing::error!("{e}");
            }
            response
        },
    ))
    .await
}

/// One line per invocation with what it did.
pub fn log_summary(s: &Summary) {
    tracing::info!(
        trigger = s.trigger,
        units = s.units,
        failed_units = s.failed_units,
        objects = s.objects,
        skipped = s.skipped,
        records = s.records,
        findings = s.findings,
        published = s.published,
        undelivered = s.undelivered,
        duration_ms = s.duration.as_millis() as u64,
        "invocation summary"
    );
}
