//! The audit benchmark's network and EC2 (`bench/audit_bench.py`, issue 21): a loopback HTTP
//! proxy in front of moto that adds a fixed latency to every request, throttles EC2 calls with
//! EC2's own token bucket, and answers the read calls from a cache filled by a free warm-up pass.
//!
//! ```text
//! ec2_proxy LATENCY_MS UPSTREAM_PORT
//! ```
//!
//! It listens on a free port of 127.0.0.1 and prints `listening PORT` on stdout. Then each line
//! on stdin is a command, answered with one line on stdout; stdin's end stops it, so that it
//! never outlives the benchmark that started it:
//!
//! - `warm`: every request goes to moto at once (no latency, no bucket) and the answers of
//!   EC2's and RDS's read calls are kept. The warm-up pass, not timed.
//! - `timed`: every request is held for the latency; each EC2 call takes a token from the
//!   bucket of its (account, region, action) or is refused; read calls are answered from what
//!   the warm-up kept (a call it did not see goes to moto, is kept, and is counted as
//!   `forwarded`). The buckets start full and the counters at zero.
//! - anything else (an empty line): the counters since the last `warm` or `timed`, as
//!   `requests=N ec2=N throttled=N cached=N forwarded=N canned=N`.
//!
//! Why this is not `latency_proxy.rs` with a flag: that proxy relays bytes and knows no HTTP
//! (which is why it costs nothing). Throttling the way EC2 does needs to know, for each
//! request, the account, the region and the action, and answering from a cache needs whole
//! requests and answers, so this one reads HTTP/1.1 (just enough of it: `Content-Length`
//! bodies, keep-alive, no pipelining, which no AWS client does). What the two share is small
//! (the stdin loop, the listening line), so it is repeated rather than factored into a module
//! both would have to include.
//!
//! - **Account**: moto gives each `AssumeRole` fresh credentials and maps their access key to
//!   the role's account. The proxy does the same by watching `AssumeRole` go through: the
//!   account in the request's `RoleArn`, the access key in the answer's `<AccessKeyId>`. A key
//!   it never saw is the caller's own (moto's default account), `caller` here.
//! - **Region and service**: the SigV4 credential scope of the `Authorization` header
//!   (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`).
//! - **Action**: `Action=` of the form body (EC2's and RDS's query protocol).
//! - **Bucket**: EC2's documented bucket for Describe actions, 100 tokens refilled 20 a second,
//!   per account, region and action (every EC2 action here is a read one); past it, HTTP 503
//!   `RequestLimitExceeded` in EC2's XML error shape, which the AWS SDKs classify as
//!   throttling. RDS is not throttled (the audit makes a handful of RDS calls per region).
//!   The decision is made when the latency has passed, as EC2 makes it when the request
//!   arrives.
//! - **Cache**: keyed by account, region, service and the request's body (the query
//!   protocol's bodies hold no nonce or time: the same call is the same bytes), for EC2's and
//!   RDS's `Describe*`, `Get*` and `List*` calls. STS and Organizations always go to moto
//!   (a few calls per run; their answers are fresh credentials). With it, the timed pass
//!   costs moto nothing: on 2 cores moto's CPU (some milliseconds a call) would otherwise cap
//!   the clients measured, and EC2 spends none of the client's machine.
//! - **Pages**: moto answers `DescribeSnapshots` and `DescribeImages` with everything at once,
//!   whatever `MaxResults` says. EC2 pages them, and the audit's memory depends on it (it holds
//!   a page at a time), so a call with `MaxResults` gets that many items and a `nextToken` of
//!   the proxy's own, cut from moto's whole answer (fetched once, and kept whatever the mode).
//! - `GetSnapshotBlockPublicAccessState` and `GetImageBlockPublicAccessState`, which moto
//!   lacks, are answered `unblocked` as the EC2 API reference documents the answers (after the
//!   latency and the bucket, as any EC2 call).
//!
//! Rust and one thread, as `latency_proxy.rs`: on a 2-core machine the proxy shares the CPU
//! with moto and the client measured.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// EC2's bucket for Describe actions.
const CAPACITY: f64 = 100.0;
const REFILL_PER_SECOND: f64 = 20.0;
/// Prefix of the page tokens the proxy gives.
const PAGE_TOKEN: &str = "ec2-proxy-page-";
/// Largest request head or body accepted (the clients measured send a few KiB).
const MAX_REQUEST: usize = 1 << 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: ec2_proxy LATENCY_MS UPSTREAM_PORT";
    let [ms, port] = args.as_slice() else {
        return Err(usage.into());
    };
    let latency = Duration::from_secs_f64(ms.parse::<f64>().map_err(|_| usage)? / 1000.0);
    let upstream = port.parse::<u16>().map_err(|_| usage)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let shared = Arc::new(Shared {
        latency,
        upstream,
        state: Mutex::new(State::default()),
    });
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
    println!("listening {}", listener.local_addr()?.port());
    io::stdout().flush()?;

    let serving = Arc::clone(&shared);
    runtime.spawn(async move {
        loop {
            let client = match listener.accept().await {
                Ok((client, _)) => client,
                Err(e) => {
                    eprintln!("ec2_proxy: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let shared = Arc::clone(&serving);
            tokio::spawn(async move {
                if let Err(e) = serve(client, &shared).await {
                    // A client that closes its connection mid-request is not news.
                    if e.kind() != io::ErrorKind::UnexpectedEof
                        && e.kind() != io::ErrorKind::ConnectionReset
                    {
                        eprintln!("ec2_proxy: {e}");
                    }
                }
            });
        }
    });

    // The runtime serves on this thread while another waits for stdin.
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    runtime.block_on(async {
        while let Some(line) = lines_rx.recv().await {
            let answer = shared.command(line.trim());
            println!("{answer}");
            let _ = io::stdout().flush();
        }
    });
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Warm,
    Timed,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    requests: u64,
    ec2: u64,
    throttled: u64,
    cached: u64,
    forwarded: u64,
    canned: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    account: String,
    region: String,
    service: String,
    body: Vec<u8>,
}

#[derive(Debug, Default)]
struct State {
    mode: Mode,
    counts: Counts,
    /// Access key id → account, learnt from `AssumeRole`.
    accounts: HashMap<String, String>,
    buckets: HashMap<(String, String, String), Bucket>,
    cache: HashMap<CacheKey, Arc<Answer>>,
}

struct Shared {
    latency: Duration,
    upstream: u16,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn command(&self, line: &str) -> String {
        let mut state = self.lock();
        match line {
            "warm" | "timed" => {
                state.mode = if line == "warm" {
                    Mode::Warm
                } else {
                    Mode::Timed
                };
                state.counts = Counts::default();
                state.buckets.clear();
                "ok".to_owned()
            }
            _ => {
                let c = state.counts;
                format!(
                    "requests={} ec2={} throttled={} cached={} forwarded={} canned={}",
                    c.requests, c.ec2, c.throttled, c.cached, c.forwarded, c.canned
                )
            }
        }
    }

    /// Takes a token of the (account, region, action) bucket; false when there is none.
    fn take_token(&self, account: &str, region: &str, action: &str) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        let bucket = state
            .buckets
            .entry((account.to_owned(), region.to_owned(), action.to_owned()))
            .or_insert(Bucket {
                tokens: CAPACITY,
                at: now,
            });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * REFILL_PER_SECOND).min(CAPACITY);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Just enough HTTP/1.1
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Headers that belong to one hop: the proxy frames each message itself.
fn end_to_end(name: &str) -> bool {
    ![
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "expect",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

fn bad(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_owned())
}

/// Reads a message head (start line and headers) from `stream` into `buf`, which keeps what
/// was read past it. `None`: the connection ended cleanly before a message began.
async fn read_head(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> io::Result<Option<(String, Vec<(String, String)>)>> {
    let mut chunk = [0u8; 16 * 1024];
    let end = loop {
        if let Some(i) = memchr::memmem::find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_REQUEST {
            return Err(bad("head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return match buf.is_empty() {
                true => Ok(None),
                false => Err(io::ErrorKind::UnexpectedEof.into()),
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end + 4);
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Some((start, headers)))
}

/// Reads `len` bytes of body (some may already be in `buf`).
async fn read_body(stream: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> io::Result<Vec<u8>> {
    let mut chunk = [0u8; 64 * 1024];
    while buf.len() < len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(buf.drain(..len).collect())
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<Request>> {
    let Some((start, headers)) = read_head(stream, buf).await? else {
        return Ok(None);
    };
    let mut parts = start.split(' ');
    let (method, target) = match (parts.next(), parts.next()) {
        (Some(m), Some(t)) => (m.to_owned(), t.to_owned()),
        _ => return Err(bad("bad request line")),
    };
    if header(&headers, "transfer-encoding").is_some() {
        return Err(bad("chunked requests are not taken"));
    }
    if header(&headers, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    let len = match header(&headers, "content-length") {
        Some(v) => v.parse::<usize>().map_err(|_| bad("bad Content-Length"))?,
        None => 0,
    };
    if len > MAX_REQUEST {
        return Err(bad("body too large"));
    }
    let body = read_body(stream, buf, len).await?;
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}

fn dechunk(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line = memchr::memmem::find(data, b"\r\n").ok_or_else(|| bad("bad chunk"))?;
        let size = String::from_utf8_lossy(&data[..line]);
        let size = size.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
        data = &data[line + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or_else(|| bad("short chunk"))?);
        data = data.get(size + 2..).ok_or_else(|| bad("short chunk"))?;
    }
}

/// One exchange with moto, on a connection of its own (moto's server closes each one).
async fn forward(port: u16, request: &Request, body: &[u8]) -> io::Result<Answer> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.set_nodelay(true)?;
    let mut out = format!("{} {} HTTP/1.1\r\n", request.method, request.target).into_bytes();
    for (k, v) in request.headers.iter().filter(|(k, _)| end_to_end(k)) {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    s.write_all(&out).await?;
    let mut buf = Vec::new();
    let (start, headers) = read_head(&mut s, &mut buf)
        .await?
        .ok_or(io::ErrorKind::UnexpectedEof)?;
    let status = start
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let body = match header(&headers, "content-length").and_then(|v| v.parse().ok()) {
        Some(len) => read_body(&mut s, &mut buf, len).await?,
        None => {
            s.read_to_end(&mut buf).await?;
            if header(&headers, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
                dechunk(&buf)?
            } else {
                buf
            }
        }
    };
    let headers = headers.into_iter().filter(|(k, _)| end_to_end(k)).collect();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

async fn write_answer(stream: &mut TcpStream, answer: &Answer) -> io::Result<()> {
    let reason = match answer.status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", answer.status).into_bytes();
    for (k, v) in &answer.headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", answer.body.len()).as_bytes());
    out.extend_from_slice(&answer.body);
    stream.write_all(&out).await
}

fn xml_answer(status: u16, body: String) -> Answer {
    Answer {
        status,
        headers: vec![
            ("Content-Type".into(), "text/xml;charset=UTF-8".into()),
            ("x-amzn-RequestId".into(), "ec2-proxy".into()),
        ],
        body: body.into_bytes(),
    }
}

// ---------------------------------------------------------------------------------------------
// What a request is, and what to answer
// ---------------------------------------------------------------------------------------------

/// The form body's pairs, percent-decoded (`+` is a space in a form).
fn form(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        percent_encoding::percent_decode_str(&s)
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// (access key id, region, service) of the SigV4 credential scope.
fn scope(request: &Request) -> (String, String, String) {
    let credential = header(&request.headers, "authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split([',', ' ']).next())
        .unwrap_or_default();
    let mut parts = credential.split('/');
    let key = parts.next().unwrap_or_default().to_owned();
    let _date = parts.next();
    let region = parts.next().unwrap_or_default().to_owned();
    let service = parts.next().unwrap_or_default().to_owned();
    (key, region, service)
}

/// The first `<tag>` value of `xml`.
fn xml_value<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&format!("</{tag}>"))?;
    Some(&xml[start..start + len])
}

fn throttled() -> Answer {
    xml_answer(
        503,
        "<Response><Errors><Error><Code>RequestLimitExceeded</Code>\
         <Message>Request limit exceeded.</Message></Error></Errors>\
         <RequestID>ec2-proxy-throttled</RequestID></Response>"
            .to_owned(),
    )
}

/// The answers moto lacks, as the EC2 API reference documents them.
fn canned(action: &str) -> Option<Answer> {
    let xmlns = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";
    let body = match action {
        "GetSnapshotBlockPublicAccessState" => format!(
            "<GetSnapshotBlockPublicAccessStateResponse {xmlns}><requestId>ec2-proxy</requestId>\
             <state>unblocked</state></GetSnapshotBlockPublicAccessStateResponse>"
        ),
        "GetImageBlockPublicAccessState" => format!(
            "<GetImageBlockPublicAccessStateResponse {xmlns}><requestId>ec2-proxy</requestId>\
             <imageBlockPublicAccessState>unblocked</imageBlockPublicAccessState>\
             </GetImageBlockPublicAccessStateResponse>"
        ),
        _ => return None,
    };
    Some(xml_answer(200, body))
}

/// The list element of the paged calls' answers.
fn paged_list(action: &str) -> Option<&'static str> {
    match action {
        "DescribeSnapshots" => Some("snapshotSet"),
        "DescribeImages" => Some("imagesSet"),
        _ => None,
    }
}

/// Page `page` of `size` items of `whole`'s `<list>`, with the proxy's `nextToken` when more
/// follow. `None` when the answer has no such list (an empty one is `<list/>`): nothing to cut.
fn cut_page(whole: &Answer, list: &str, page: usize, size: usize) -> Option<Answer> {
    let xml = std::str::from_utf8(&whole.body).ok()?;
    let open = format!("<{list}>");
    let close = format!("</{list}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].rfind(&close)?;
    // The list's own items: `<item>` at depth 1 (an item holds items of its own: tags).
    let inner = &xml[start..end];
    let mut items: Vec<(usize, usize)> = Vec::new();
    let (mut depth, mut at, mut item_start) = (0usize, 0usize, 0usize);
    while let Some(i) = inner[at..].find("item>") {
        let i = at + i;
        at = i + 5;
        match inner.as_bytes()[..i] {
            [.., b'<'] => {
                if depth == 0 {
                    item_start = i - 1;
                }
                depth += 1;
            }
            [.., b'<', b'/'] => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    items.push((item_start, at));
                }
            }
            _ => {}
        }
    }
    let from = (page * size).min(items.len());
    let to = (from + size).min(items.len());
    let mut body = String::with_capacity(xml.len().min(64 << 20));
    body.push_str(&xml[..start]);
    for &(a, b) in &items[from..to] {
        body.push_str(&inner[a..b]);
    }
    body.push_str(&close);
    let rest = &xml[end + close.len()..];
    // moto's own token, if any, is dropped: the proxy's stands for the page.
    let rest = match (rest.find("<nextToken>"), rest.find("</nextToken>")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &rest[..a], &rest[b + 12..]),
        _ => rest.to_owned(),
    };
    if to < items.len() {
        let root_close = rest.rfind("</")?;
        body.push_str(&rest[..root_close]);
        body.push_str(&format!("<nextToken>{PAGE_TOKEN}{}</nextToken>", page + 1));
        body.push_str(&rest[root_close..]);
    } else {
        body.push_str(&rest);
    }
    Some(Answer {
        status: whole.status,
        headers: whole.headers.clone(),
        body: body.into_bytes(),
    })
}

async fn serve(mut client: TcpStream, shared: &Shared) -> io::Result<()> {
    client.set_nodelay(true)?;
    let mut buf = Vec::new();
    while let Some(request) = read_request(&mut client, &mut buf).await? {
        let close =
            header(&request.headers, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let answer = match answer(&request, shared).await {
            Ok(answer) => answer,
            Err(e) => xml_answer(
                502,
                format!("<Response><Errors><Error><Code>ProxyError</Code><Message>{e}</Message></Error></Errors></Response>"),
            ),
        };
        write_answer(&mut client, &answer).await?;
        if close {
            break;
        }
    }
    Ok(())
}

async fn answer(request: &Request, shared: &Shared) -> io::Result<Answer> {
    let mode = shared.lock().mode;
    if mode == Mode::Timed {
        tokio::time::sleep(shared.latency).await;
    }
    let (key, region, service) = scope(request);
    let pairs = form(&request.body);
    let action = field(&pairs, "Action").unwrap_or_default().to_owned();
    let account = {
        let mut state = shared.lock();
        state.counts.requests += 1;
        if service == "ec2" {
            state.counts.ec2 += 1;
        }
        state
            .accounts
            .get(&key)
            .cloned()
            .unwrap_or_else(|| "caller".to_owned())
    };

    if service == "ec2" {
        if mode == Mode::Timed && !shared.take_token(&account, &region, &action) {
            shared.lock().counts.throttled += 1;
            return Ok(throttled());
        }
        if let Some(answer) = canned(&action) {
            shared.lock().counts.canned += 1;
            return Ok(answer);
        }
    }

    let reads = ["Describe", "Get", "List"];
    let cached =
        (service == "ec2" || service == "rds") && reads.iter().any(|p| action.starts_with(p));
    if !cached {
        shared.lock().counts.forwarded += 1;
        let answer = forward(shared.upstream, request, &request.body).await?;
        if service == "sts" && action == "AssumeRole" && answer.status == 200 {
            learn(shared, &pairs, &answer);
        }
        return Ok(answer);
    }

    // A paged call with MaxResults: a page cut from moto's whole answer.
    let page_size = field(&pairs, "MaxResults").and_then(|m| m.parse::<usize>().ok());
    let (list, page_size) = match (paged_list(&action), page_size) {
        (Some(list), Some(size)) if size > 0 => (Some(list), size),
        _ => (None, 0),
    };
    let body: Vec<u8> = match list {
        None => request.body.clone(),
        Some(_) => String::from_utf8_lossy(&request.body)
            .split('&')
            .filter(|p| !p.starts_with("MaxResults=") && !p.starts_with("NextToken="))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes(),
    };
    let cache_key = CacheKey {
        account,
        region,
        service,
        body,
    };
    let hit = shared.lock().cache.get(&cache_key).cloned();
    let whole = match hit {
        Some(answer) => {
            shared.lock().counts.cached += 1;
            answer
        }
        None => {
            let answer = Arc::new(forward(shared.upstream, request, &cache_key.body).await?);
            let mut state = shared.lock();
            state.counts.forwarded += 1;
            if answer.status == 200 {
                state.cache.insert(cache_key, Arc::clone(&answer));
            }
            answer
        }
    };
    let Some(list) = list else {
        return Ok((*whole).clone());
    };
    if whole.status != 200 {
        return Ok((*whole).clone());
    }
    let page = field(&pairs, "NextToken")
        .and_then(|t| t.strip_prefix(PAGE_TOKEN))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok(cut_page(&whole, list, page, page_size).unwrap_or_else(|| (*whole).clone()))
}

/// Records the account of the access key an `AssumeRole` answer gives.
fn learn(shared: &Shared, pairs: &[(String, String)], answer: &Answer) {
    let account = field(pairs, "RoleArn").and_then(|arn| arn.split(':').nth(4));
    let body = String::from_utf8_lossy(&answer.body);
    if let (Some(account), Some(key)) = (account, xml_value(&body, "AccessKeyId")) {
        shared
            .lock()
            .accounts
            .insert(key.to_owned(), account.to_owned());
    }
}
