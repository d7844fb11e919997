//! The harness of the tests that talk to AWS APIs: a real moto server (S3, SNS, SQS) on a
//! free loopback port, the real SDK clients pointed at it, a queue subscribed to the findings
//! topic to read back what was really published, and the handler run on a payload.
//!
//! The server is started once per test binary (or taken from `MOTO_ENDPOINT`). If it cannot
//! start, every test that needs it fails with the reason and how to install it. The tests that
//! need it are all named `aws_*`, so that `cargo test -- --skip aws_` leaves them out.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::Value;
use snapshot_share_detector::finding::Finding;
use snapshot_share_detector::lambda::{Handler, InvocationError};
use snapshot_share_detector::metrics::Summary;
use snapshot_share_detector::sink::Sink;
use snapshot_share_detector::source::ObjectStore;

pub struct Moto {
    pub endpoint: String,
    _child: Option<Child>,
}

static MOTO: OnceLock<Result<Moto, String>> = OnceLock::new();

/// Runs moto's server, exiting when the test process that started it is gone (statics are
/// never dropped, so the child cannot be killed from here).
const MOTO_SCRIPT: &str = r#"
import os, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
# No AMIs of Amazon's in every account and region: the audit lists what an account owns, and
# moto would count their thousand snapshots as the account's own.
os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"#;

/// The moto server, started on first use. A test that needs it fails when it cannot start,
/// saying why and how to install it: it never passes without having run. To leave the AWS
/// tests out on purpose, run `cargo test -- --skip aws_` (every such test is named `aws_*`;
/// libtest counts them as "filtered out").
pub fn moto() -> &'static Moto {
    match MOTO.get_or_init(start) {
        Ok(moto) => moto,
        Err(why) => panic!(
            "moto server unavailable: {why}\n\
             install it with: pip install 'moto[server]'  (or set MOTO_ENDPOINT to a running \
             server); to skip the AWS tests instead: cargo test -- --skip aws_"
        ),
    }
}

fn start() -> Result<Moto, String> {
    if let Ok(endpoint) = std::env::var("MOTO_ENDPOINT") {
        wait_ready(&endpoint, None, Duration::from_secs(10))?;
        return Ok(Moto {
            endpoint,
            _child: None,
        });
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    // The server's own log goes to a file (a pipe nobody reads would fill and stall it); it
    // says why the server stopped when it did.
    let log_path = std::env::temp_dir().join(format!("moto-{}-{port}.log", std::process::id()));
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .args(["-c", MOTO_SCRIPT, &port.to_string()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_ready(&endpoint, Some(&mut child), Duration::from_secs(30)).map_err(|why| {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        match lines.len() {
            0 => why,
            n => format!(
                "{why}; it said: {}",
                lines[n.saturating_sub(5)..].join(" | ")
            ),
        }
    })?;
    Ok(Moto {
        endpoint,
        _child: Some(child),
    })
}

/// Waits until moto answers, or `child` (the server being started, if any) has exited.
fn wait_ready(
    endpoint: &str,
    mut child: Option<&mut Child>,
    limit: Duration,
) -> Result<(), String> {
    let addr = endpoint.trim_start_matches("http://");
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(addr) {
            let req = format!("GET /moto-api/ HTTP/1.0\r\nHost: {addr}\r\n\r\n");
            let mut head = [0u8; 12];
            if s.write_all(req.as_bytes()).is_ok()
                && s.read_exact(&mut head).is_ok()
                && head.ends_with(b"200")
            {
                return Ok(());
            }
        }
        if let Some(child) = child.as_deref_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "the moto server exited ({status}) before answering"
                ));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("{endpoint} did not answer within {limit:?}"))
}

/// SDK configuration pointed at moto, with dummy credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// A process (the binary, `cargo lambda watch`) pointed at moto as [`sdk_config`] points the
/// clients: the endpoint, the region, dummy credentials, and no instance metadata to look for.
pub trait AtMoto {
    fn at_moto(&mut self, endpoint: &str) -> &mut Self;
}

impl AtMoto for Command {
    fn at_moto(&mut self, endpoint: &str) -> &mut Self {
        self.env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
    }
}

pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
}

pub async fn clients(moto: &Moto) -> Clients {
    let config = sdk_config(&moto.endpoint).await;
    let s3 = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    Clients {
        s3: aws_sdk_s3::Client::from_conf(s3),
        sns: aws_sdk_sns::Client::new(&config),
        sqs: aws_sdk_sqs::Client::new(&config),
    }
}

/// A name no other test in any process uses (tests share one server).
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A findings topic with a queue subscribed to it.
#[derive(Debug, Clone)]
pub struct Topic {
    pub arn: String,
    pub queue_url: String,
}

pub async fn topic(c: &Clients, fifo: bool) -> Topic {
    let suffix = if fifo { ".fifo" } else { "" };
    let name = unique("findings");
    let mut create = c.sns.create_topic().name(format!("{name}{suffix}"));
    if fifo {
        create = create.attributes("FifoTopic", "true");
    }
    let arn = create.send().await.unwrap().topic_arn.unwrap();
    let mut queue = c.sqs.create_queue().queue_name(format!("{name}-q{suffix}"));
    if fifo {
        queue = queue.attributes(QueueAttributeName::FifoQueue, "true");
    }
    let queue_url = queue.send().await.unwrap().queue_url.unwrap();
    let queue_arn = c
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    c.sns
        .subscribe()
        .topic_arn(&arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();
    Topic { arn, queue_url }
}

/// One SNS message as it arrived in the subscribed queue.
#[derive(Debug, Clone)]
pub struct Received {
    pub finding: Finding,
    pub raw_message: Value,
    pub subject: Option<String>,
    /// Message attributes: name → (type, value).
    pub attributes: HashMap<String, (String, String)>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

/// Reads the queue until `expected` messages arrived (or 15 s passed), then waits a little
/// more to catch any extra message. Returns everything that arrived.
pub async fn receive(c: &Clients, topic: &Topic, expected: usize) -> Vec<Received> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut quiet_rounds = 0;
    while quiet_rounds < 2 && Instant::now() < deadline {
        let wait = if got.len() >= expected { 1 } else { 2 };
        let out = c
            .sqs
            .receive_message()
            .queue_url(&topic.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() && got.len() >= expected {
            quiet_rounds += 1;
        }
        for m in messages {
            let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            let message = body["Message"].as_str().unwrap();
            let raw_message: Value = serde_json::from_str(message).unwrap();
            let finding: Finding = serde_json::from_value(raw_message.clone()).unwrap();
            let attributes = body["MessageAttributes"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let t = v["Type"].as_str().unwrap_or_default().to_owned();
                            let val = v["Value"].as_str().unwrap_or_default().to_owned();
                            (k.clone(), (t, val))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let system = m.attributes.clone().unwrap_or_default();
            got.push(Received {
                finding,
                raw_message,
                subject: body["Subject"].as_str().map(str::to_owned),
                attributes,
                group_id: system
                    .get(&MessageSystemAttributeName::MessageGroupId)
                    .cloned(),
                dedup_id: system
                    .get(&MessageSystemAttributeName::MessageDeduplicationId)
                    .cloned(),
            });
            c.sqs
                .delete_message()
                .queue_url(&topic.queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    got
}

/// Runs the handler on `payload`; the answer as the JSON Lambda would send back.
pub async fn handle<S: Sink, T: ObjectStore>(
    h: &Handler<S, T>,
    payload: Value,
) -> (Result<Value, InvocationError>, Summary) {
    let (response, summary) = h.handle(payload).await;
    let response = response.map(|r| serde_json::to_value(r).expect("responses serialize"));
    (response, summary)
}
