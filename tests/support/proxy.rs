//! The HTTP fault proxy: it sits on loopback between the SDK clients under test and moto,
//! reads one request per connection, consults a scriptable fault plan, and either forwards the
//! request to moto or answers it itself: SNS `Throttling`, 500, 503, a connection reset, an
//! answer that never comes, a `PublishBatch` with some entries `Failed`; S3 `NoSuchKey`,
//! `AccessDenied`, `SlowDown`, a `GetObject` body cut after some bytes. It counts the requests
//! of each kind and the `PublishBatch` entries moto accepted, so that what was sent can be
//! counted against what arrived in the queue subscribed to the topic.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use super::http::{forward, read_message, xml_values, Message};

/// How long a stalled answer ([`Fault::Stall`]) is held: well past the attempt timeout of the
/// clients under test.
pub const STALL: Duration = Duration::from_secs(6);

/// What the proxy does to a request instead of forwarding it unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SNS `Throttling` (HTTP 400, sender).
    Throttling,
    /// SNS 500 `InternalError` or 503 `ServiceUnavailable`.
    ServerError(u16),
    /// The connection is reset (SO_LINGER 0) once the request is read; nothing is forwarded.
    Reset,
    /// The request is forwarded (moto delivers it), then the connection is reset instead of
    /// the answer: the client cannot know it was delivered.
    ResetAfterDelivery,
    /// No answer until well past the client's attempt timeout; nothing is forwarded.
    Stall,
    /// `PublishBatch`: the entries whose `Id` is 1 mod 3 are answered as `Failed` and are not
    /// forwarded; the others are forwarded and answered as moto answered them.
    FailEntries { sender_fault: bool },
    /// S3 error: HTTP status and code.
    S3Error(u16, &'static str),
    /// `GetObject` is forwarded, and its connection closed after this many bytes of body.
    CutAfter(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// SNS `Publish` or `PublishBatch`.
    Publish,
    /// S3 `GetObject`.
    GetObject,
    Other,
}

#[derive(Debug)]
struct Rule {
    kind: Kind,
    /// For `GetObject`: only requests whose path contains this.
    path_contains: Option<String>,
    fault: Fault,
    /// How many more requests it applies to; `None`: all of them.
    left: Option<usize>,
}

/// A canned answer: given instead of forwarding to moto for every request whose start line,
/// headers and body contain all of `matches` (an API that moto lacks, answered as its
/// reference documents it; or a refusal for one account or region).
#[derive(Debug, Clone)]
struct Canned {
    matches: Vec<String>,
    answer: Message,
    /// Held this long before it is sent, like a slow service.
    delay: Duration,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    canned: Vec<Canned>,
    requests: BTreeMap<Kind, usize>,
    /// `GetObject` requests by path.
    gets: HashMap<String, usize>,
    injected: usize,
    /// `PublishBatch`/`Publish` entries forwarded to moto and accepted by it: what was sent.
    delivered: usize,
    /// The requests given a canned answer, as text: what the client asked of an API that moto
    /// lacks.
    heard: Vec<String>,
}

impl State {
    fn fault_for(&mut self, kind: Kind, path: &str) -> Option<Fault> {
        let rule = self.rules.iter_mut().find(|r| {
            r.kind == kind
                && r.left != Some(0)
                && r.path_contains.as_ref().is_none_or(|p| path.contains(p))
        })?;
        if let Some(left) = &mut rule.left {
            *left -= 1;
        }
        self.injected += 1;
        Some(rule.fault)
    }
}

pub struct Proxy {
    /// `http://127.0.0.1:<port>`: what the clients under test are pointed at.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    /// Listens on a free loopback port, forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let upstream = upstream.to_owned();
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    // A client that went away (timeout, reset) is part of the game.
                    let _ = serve(client, &upstream, &state).await;
                });
            }
        });
        Proxy { endpoint, state }
    }

    /// Applies `fault` to the next `times` requests of `kind` (all of them if `None`).
    pub fn inject(
        &self,
        kind: Kind,
        path_contains: Option<&str>,
        fault: Fault,
        times: Option<usize>,
    ) {
        self.state.lock().unwrap().rules.push(Rule {
            kind,
            path_contains: path_contains.map(str::to_owned),
            fault,
            left: times,
        });
    }

    /// Answers every request that contains all of `matches` (in its start line, headers or
    /// body) with `status` and `body` (XML), instead of forwarding it.
    pub fn answer(&self, matches: &[&str], status: u16, body: &str) {
        self.answer_as(matches, status, "text/xml", body);
    }

    /// [`Proxy::answer`] with a body of another type (`application/json` for the JSON APIs).
    pub fn answer_as(&self, matches: &[&str], status: u16, content_type: &str, body: &str) {
        self.answer_later(matches, Duration::ZERO, status, content_type, body);
    }

    /// [`Proxy::answer_as`], each answer sent `delay` after its request.
    pub fn answer_later(
        &self,
        matches: &[&str],
        delay: Duration,
        status: u16,
        content_type: &str,
        body: &str,
    ) {
        self.state.lock().unwrap().canned.push(Canned {
            matches: matches.iter().map(|m| (*m).to_owned()).collect(),
            answer: Message::response(status, content_type, body.to_owned()),
            delay,
        });
    }

    /// The requests answered from the canned answers that contain `needle`, as text (start
    /// line, headers, body).
    pub fn heard(&self, needle: &str) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.heard
            .iter()
            .filter(|t| t.contains(needle))
            .cloned()
            .collect()
    }

    /// The fault is gone.
    pub fn clear(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    pub fn requests(&self, kind: Kind) -> usize {
        self.state
            .lock()
            .unwrap()
            .requests
            .get(&kind)
            .copied()
            .unwrap_or(0)
    }

    pub fn gets(&self, path_contains: &str) -> usize {
        let state = self.state.lock().unwrap();
        state
            .gets
            .iter()
            .filter(|(p, _)| p.contains(path_contains))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn injected(&self) -> usize {
        self.state.lock().unwrap().injected
    }

    pub fn delivered(&self) -> usize {
        self.state.lock().unwrap().delivered
    }
}

fn classify(request: &Message) -> Kind {
    let method = request.start.split(' ').next().unwrap_or_default();
    let body = String::from_utf8_lossy(&request.body);
    let action = |name: &str| {
        body.split('&')
            .any(|pair| pair == format!("Action={name}").as_str())
    };
    if method == "POST" && (action("PublishBatch") || action("Publish")) {
        Kind::Publish
    } else if method == "GET" && request.path().trim_start_matches('/').contains('/') {
        Kind::GetObject
    } else {
        Kind::Other
    }
}

/// The members of a `PublishBatch` form body: index → that member's `key=value` pairs
/// (without the `PublishBatchRequestEntries.member.N.` prefix), and the other pairs.
fn batch_members(body: &str) -> (BTreeMap<usize, Vec<String>>, Vec<String>) {
    const PREFIX: &str = "PublishBatchRequestEntries.member.";
    let mut members: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut rest = Vec::new();
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let member = pair.strip_prefix(PREFIX).and_then(|tail| {
            let (n, field) = tail.split_once('.')?;
            Some((n.parse::<usize>().ok()?, field.to_owned()))
        });
        match member {
            Some((n, field)) => members.entry(n).or_default().push(field),
            None => rest.push(pair.to_owned()),
        }
    }
    (members, rest)
}

fn member_id(fields: &[String]) -> String {
    fields
        .iter()
        .find_map(|f| f.strip_prefix("Id="))
        .unwrap_or_default()
        .to_owned()
}

fn sns_error(status: u16, kind: &str, code: &str, message: &str) -> Message {
    Message::response(
        status,
        "text/xml",
        format!(
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
             <Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>fault-proxy-{status}</RequestId></ErrorResponse>"
        ),
    )
}

fn s3_error(status: u16, code: &str, path: &str) -> Message {
    let message = match code {
        "NoSuchKey" => "The specified key does not exist.",
        "AccessDenied" => "Access Denied",
        "SlowDown" => "Please reduce your request rate.",
        _ => "Injected by the fault proxy",
    };
    Message::response(
        status,
        "application/xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{message}</Message><Resource>{path}</Resource>\
             <RequestId>FAULTPROXY</RequestId><HostId>fault-proxy</HostId></Error>"
        ),
    )
}

/// Forwards a `PublishBatch`, keeping back the entries whose `Id` is 1 mod 3: moto receives
/// only the others; the answer lists the kept-back ones as `Failed`.
async fn partial_batch(
    upstream: &str,
    request: &Message,
    sender_fault: bool,
    state: &Mutex<State>,
) -> io::Result<Message> {
    let body = String::from_utf8_lossy(&request.body).into_owned();
    let (members, rest) = batch_members(&body);
    let (failed, kept): (Vec<_>, Vec<_>) = members.into_values().partition(|fields| {
        member_id(fields)
            .parse::<usize>()
            .is_ok_and(|id| id % 3 == 1)
    });
    let mut successful = String::new();
    if !kept.is_empty() {
        let mut pairs = rest;
        for (i, fields) in kept.iter().enumerate() {
            for field in fields {
                pairs.push(format!(
                    "PublishBatchRequestEntries.member.{}.{field}",
                    i + 1
                ));
            }
        }
        let mut forwarded = request.clone();
        forwarded.body = pairs.join("&").into_bytes();
        let answer = forward(upstream, &forwarded).await?;
        if answer.status() != 200 {
            return Ok(answer);
        }
        state.lock().unwrap().delivered += kept.len();
        let xml = String::from_utf8_lossy(&answer.body).into_owned();
        let section = xml
            .split_once("<Successful>")
            .and_then(|(_, s)| s.split_once("</Successful>"))
            .map_or("", |(s, _)| s);
        for (id, message_id) in xml_values(section, "Id")
            .into_iter()
            .zip(xml_values(section, "MessageId"))
        {
            successful.push_str(&format!(
                "<member><Id>{id}</Id><MessageId>{message_id}</MessageId></member>"
            ));
        }
    }
    let (code, text) = match sender_fault {
        true => (
            "InvalidParameter",
            "Invalid parameter: injected by the fault proxy",
        ),
        false => (
            "InternalError",
            "Internal error: injected by the fault proxy",
        ),
    };
    let failed: String = failed
        .iter()
        .map(|fields| {
            format!(
                "<member><Id>{}</Id><Code>{code}</Code><Message>{text}</Message>\
                 <SenderFault>{sender_fault}</SenderFault></member>",
                member_id(fields)
            )
        })
        .collect();
    Ok(Message::response(
        200,
        "text/xml",
        format!(
            "<PublishBatchResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
             <PublishBatchResult><Successful>{successful}</Successful>\
             <Failed>{failed}</Failed></PublishBatchResult>\
             <ResponseMetadata><RequestId>fault-proxy-partial</RequestId></ResponseMetadata>\
             </PublishBatchResponse>"
        ),
    ))
}

/// Entries moto accepted in a forwarded `Publish`/`PublishBatch`.
fn accepted_entries(request: &Message, answer: &Message) -> usize {
    if answer.status() != 200 {
        return 0;
    }
    let body = String::from_utf8_lossy(&request.body);
    let (members, _) = batch_members(&body);
    if members.is_empty() {
        return 1; // `Publish`
    }
    let xml = String::from_utf8_lossy(&answer.body);
    let successful = xml
        .split_once("<Successful>")
        .and_then(|(_, s)| s.split_once("</Successful>"))
        .map_or("", |(s, _)| s);
    xml_values(successful, "Id").len()
}

/// Serves one request on `client`, then closes the connection.
async fn serve(mut client: TcpStream, upstream: &str, state: &Mutex<State>) -> io::Result<()> {
    let Some(request) = read_message(&mut client, false).await? else {
        return Ok(());
    };
    let canned = {
        let text = String::from_utf8_lossy(&request.to_bytes()).into_owned();
        let mut s = state.lock().unwrap();
        let canned = s
            .canned
            .iter()
            .find(|c| c.matches.iter().all(|m| text.contains(m.as_str())))
            .map(|c| (c.answer.clone(), c.delay));
        if canned.is_some() {
            s.heard.push(text);
        }
        canned
    };
    if let Some((answer, delay)) = canned {
        tokio::time::sleep(delay).await;
        client.write_all(&answer.to_bytes()).await?;
        return client.shutdown().await;
    }
    let kind = classify(&request);
    let path = request.path().to_owned();
    let fault = {
        let mut s = state.lock().unwrap();
        *s.requests.entry(kind).or_default() += 1;
        if kind == Kind::GetObject {
            *s.gets.entry(path.clone()).or_default() += 1;
        }
        s.fault_for(kind, &path)
    };
    let answer = match fault {
        None => {
            let answer = forward(upstream, &request).await?;
            if kind == Kind::Publish {
                state.lock().unwrap().delivered += accepted_entries(&request, &answer);
            }
            answer
        }
        Some(Fault::Throttling) => sns_error(400, "Sender", "Throttling", "Rate exceeded"),
        Some(Fault::ServerError(500)) => {
            sns_error(500, "Receiver", "InternalError", "Internal Error")
        }
        Some(Fault::ServerError(status)) => sns_error(
            status,
            "Receiver",
            "ServiceUnavailable",
            "Service is unavailable",
        ),
        Some(Fault::Reset) => {
            client.set_zero_linger()?;
            return Ok(());
        }
        Some(Fault::ResetAfterDelivery) => {
            let answer = forward(upstream, &request).await?;
            state.lock().unwrap().delivered += accepted_entries(&request, &answer);
            client.set_zero_linger()?;
            return Ok(());
        }
        Some(Fault::Stall) => {
            tokio::time::sleep(STALL).await;
            return Ok(());
        }
        Some(Fault::FailEntries { sender_fault }) => {
            partial_batch(upstream, &request, sender_fault, state).await?
        }
        Some(Fault::S3Error(status, code)) => s3_error(status, code, &path),
        Some(Fault::CutAfter(n)) => {
            let answer = forward(upstream, &request).await?;
            let bytes = answer.to_bytes();
            let head = bytes.len() - answer.body.len();
            client
                .write_all(&bytes[..head + n.min(answer.body.len())])
                .await?;
            client.flush().await?;
            return client.shutdown().await;
        }
    };
    client.write_all(&answer.to_bytes()).await?;
    client.shutdown().await
}
