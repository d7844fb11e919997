//! The Lambda function: classify the payload, do its work, answer so that nothing is lost.
//!
//! - An SQS-triggered invocation answers with `batchItemFailures` naming exactly the messages
//!   whose object could not be read or whose findings could not be published; SQS delivers
//!   those again and deletes the rest.
//! - An S3 Batch Operations invocation answers every task: `Succeeded` once its object was read
//!   and every finding published, `TemporaryFailure` when another try may succeed (throttling,
//!   timeouts, 5xx, a failed publish), `PermanentFailure` otherwise (missing, denied, not
//!   CloudTrail), each with the reason, for the job's completion report.
//! - Any other invocation fails as a whole if anything failed, so that Lambda (asynchronous
//!   invocation, EventBridge, CloudWatch Logs) retries the event.
//! - A payload that is not recognised is logged and ends successfully: no retry could help.

use std::time::Instant;

use aws_lambda_events::event::sqs::SqsBatchResponse;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::metrics::{emf_line, Summary};
use crate::pipeline::Pipeline;
use crate::sink::Sink;
use crate::source::{ObjectStore, S3Store};
use crate::tally::{ErrorKind, Tally};
use crate::trigger::s3_batch;
use crate::trigger::{self, Answer, Unit, Work};

/// The function's state, built once per execution environment.
#[derive(Debug)]
pub struct Handler<S, T> {
    pipeline: Pipeline<S, T>,
    concurrency: usize,
}

/// The answer to an invocation. Typed, so that what SQS reads as "all succeeded" can only come
/// from a batch response that was built, never from a value that failed to serialize.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// To SQS: the messages to deliver again.
    Batch(SqsBatchResponse),
    /// To S3 Batch Operations: a result for each task.
    S3Batch(s3_batch::Response),
    /// To any other caller: what the invocation did.
    Summary(Summary),
    /// To an audit invocation (the state machine): the plan, or what the audit found.
    Audit(crate::audit::invoke::Answer),
}

/// The invocation failed; Lambda will deliver the event again.
#[derive(Debug, thiserror::Error)]
#[error("{undelivered} findings undelivered; {failed} of {units} units failed: {details}")]
pub struct InvocationError {
    pub undelivered: u64,
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

impl<S: Sink, T: ObjectStore> Handler<S, T> {
    /// A pipeline without a store fails the triggers that name objects.
    pub fn new(pipeline: Pipeline<S, T>, concurrency: usize) -> Self {
        Handler {
            pipeline,
            concurrency: concurrency.max(1),
        }
    }

    pub fn pipeline(&self) -> &Pipeline<S, T> {
        &self.pipeline
    }

    /// Handles one invocation payload. Returns the response and a summary of the work.
    pub async fn handle(&self, payload: Value) -> (Result<Response, InvocationError>, Summary) {
        let started = Instant::now();
        let invocation = trigger::classify(payload);
        let reports: Vec<(Option<String>, Tally)> = stream::iter(invocation.units)
            .map(|unit| self.unit(unit))
            .buffered(self.concurrency)
            .collect()
            .await;

        let mut summary = Summary {
            trigger: invocation.trigger,
            units: reports.len(),
            ..Summary::default()
        };
        let mut batch = SqsBatchResponse::default();
        let mut results = Vec::new();
        for (message_id, tally) in reports {
            if !tally.is_clean() {
                summary.failed_units += 1;
                if let (Some(id), Answer::SqsBatch) = (&message_id, &invocation.answer) {
                    batch.add_failure(id.clone());
                }
            }
            if let Answer::S3Batch(_) = invocation.answer {
                results.push(s3_batch::TaskResult::new(
                    message_id.unwrap_or_default(),
                    &tally,
                ));
            }
            summary.tally.add(tally);
        }
        summary.duration = started.elapsed();

        let response = match invocation.answer {
            // Every task is answered, failures included: the job retries or reports them.
            Answer::S3Batch(job) => Ok(Response::S3Batch(s3_batch::Response {
                invocation_schema_version: job.schema_version,
                treat_missing_keys_as: s3_batch::ResultCode::PermanentFailure,
                invocation_id: job.invocation_id,
                results,
            })),
            Answer::SqsBatch => Ok(Response::Batch(batch)),
            Answer::Plain => self.plain_answer(&summary),
        };
        (response, summary)
    }

    /// The answer to an invocation that is neither an SQS batch nor an S3 Batch Operations
    /// job: a failure when any unit failed, so that Lambda delivers the event again.
    fn plain_answer(&self, summary: &Summary) -> Result<Response, InvocationError> {
        if summary.failed_units > 0 {
            Err(InvocationError {
                undelivered: summary.tally.undelivered,
                failed: summary.failed_units,
                units: summary.units,
                details: summary.tally.error_line(),
            })
        } else {
            Ok(Response::Summary(summary.clone()))
        }
    }

    /// One unit of work (the invocation, or one SQS message) and its message id.
    async fn unit(&self, unit: Unit) -> (Option<String>, Tally) {
        let mut tally = Tally::default();
        for work in unit.work {
            match work {
                Work::Record { record, account } => {
                    tally.add(self.pipeline.record(&record, account.as_deref()).await);
                }
                Work::Skip(reason) => {
                    tally.skipped += 1;
                    tracing::warn!(message_id = unit.message_id.as_deref(), "skipped: {reason}");
                }
                Work::Object(object) => tally.add(self.pipeline.object(&object, None).await),
                Work::Invalid(why) => tally.input_failed(ErrorKind::Permanent, why),
            }
        }
        for error in &tally.errors {
            tracing::error!(message_id = unit.message_id.as_deref(), "{error}");
        }
        (unit.message_id, tally)
    }
}

/// Starts the Lambda runtime with a handler built from the environment.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    for odd in config.settings.trusted.suspicious() {
        tracing::warn!("TRUSTED_ACCOUNT_IDS entry {odd:?} is not a 12-digit account id");
    }
    let sdk = crate::aws::sdk_config(&config.clients).await;
    if config.outputs.topic_arn.is_none() {
        tracing::warn!("FINDINGS_TOPIC_ARN is not set: findings go to stdout (the function's log)");
    } else if config.outputs.dedup_table.is_none() {
        tracing::info!("DEDUP_TABLE is not set: each path publishes what it finds");
    }
    let sink = crate::sink::build(
        &config.outputs,
        Some(&sdk),
        &config.clients,
        true,
        false,
        crate::sink::Lines::Json,
    );
    let s3 = crate::aws::s3_from(&sdk, &config.clients);
    let pipeline = Pipeline::new(sink, Some(S3Store::new(s3)), config.settings.clone());
    let handler = Handler::new(pipeline, config.concurrency);
    let handler = &handler;
    let (sdk, config) = (&sdk, &config);
    let namespace = config.metrics_namespace.as_str();
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".to_owned());
    let function = function.as_str();
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            if let Some(request) = crate::audit::invoke::requested(&event.payload) {
                let sink = handler.pipeline().sink();
                return crate::audit::invoke::invoke(request, sdk, config, sink)
                    .await
                    .map(Response::Audit)
                    .map_err(|details| {
                        tracing::error!("{details}");
                        InvocationError {
                            undelivered: 0,
                            failed: 1,
                            units: 1,
                            details,
                        }
                    });
            }
            let (response, summary) = handler.handle(event.payload).await;
            summary.log();
            let now = crate::epoch_ms();
            // Straight to stdout: CloudWatch Logs reads EMF from the raw line.
            println!("{}", emf_line(&summary, namespace, function, now));
            if let Err(e) = &response {
                tracing::error!("{e}");
            }
            response
        },
    ))
    .await
}
