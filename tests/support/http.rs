//! Just enough HTTP/1.1 for the fault proxy ([`super::proxy`]): one message read from a
//! connection (body de-framed), written back framed with `Content-Length`, one exchange with
//! the upstream server, and the values of a tag in moto's flat XML answers.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An HTTP/1.1 request or response, body de-framed.
#[derive(Debug, Clone)]
pub struct Message {
    /// The request or status line.
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.start.split(' ').nth(1).unwrap_or_default()
    }

    pub fn status(&self) -> u16 {
        self.start
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The message framed with `Content-Length`, asking for the connection to be closed after it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start).into_bytes();
        for (k, v) in &self.headers {
            let hop = [
                "content-length",
                "transfer-encoding",
                "connection",
                "keep-alive",
            ];
            if !hop.iter().any(|h| k.eq_ignore_ascii_case(h)) {
                out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
            }
        }
        out.extend_from_slice(
            format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                self.body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&self.body);
        out
    }

    pub fn response(status: u16, content_type: &str, body: String) -> Message {
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Unknown",
        };
        Message {
            start: format!("HTTP/1.1 {status} {reason}"),
            headers: vec![
                ("Content-Type".into(), content_type.into()),
                ("x-amzn-RequestId".into(), "fault-proxy".into()),
            ],
            body: body.into_bytes(),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one message. A request without `Content-Length` has no body; a response without it
/// is read to the end of the connection (and de-chunked if it says so).
pub async fn read_message(s: &mut TcpStream, response: bool) -> io::Result<Option<Message>> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return match buf.is_empty() {
                true => Ok(None),
                false => Err(io::ErrorKind::UnexpectedEof.into()),
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut message = Message {
        start,
        headers,
        body: buf[head_end + 4..].to_vec(),
    };
    let length = message
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    let chunked = message
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    assert!(
        response || !chunked,
        "the fault proxy does not take chunked requests"
    );
    match length {
        Some(len) => {
            while message.body.len() < len {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                message.body.extend_from_slice(&chunk[..n]);
            }
            message.body.truncate(len);
        }
        None if response => {
            s.read_to_end(&mut message.body).await?;
            if chunked {
                message.body = dechunk(&message.body)?;
            }
        }
        None => message.body.clear(),
    }
    Ok(Some(message))
}

pub fn dechunk(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad chunked body");
    let mut out = Vec::new();
    loop {
        let line = find(data, b"\r\n").ok_or_else(bad)?;
        let size_text = String::from_utf8_lossy(&data[..line]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad())?;
        data = &data[line + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or_else(bad)?);
        data = data.get(size + 2..).ok_or_else(bad)?;
    }
}

/// One request/response exchange with moto, on a connection of its own.
pub async fn forward(upstream: &str, request: &Message) -> io::Result<Message> {
    let mut s = TcpStream::connect(upstream).await?;
    s.write_all(&request.to_bytes()).await?;
    read_message(&mut s, true)
        .await?
        .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
}

/// The values of `<tag>` in `xml`, in order (enough for moto's flat answers).
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let Some(j) = rest.find(&close) else { break };
        out.push(rest[..j].to_owned());
        rest = &rest[j + close.len()..];
    }
    out
}
