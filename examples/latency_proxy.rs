//! A loopback TCP proxy that adds a fixed latency to every request: the network of the S3
//! benchmark (`bench/s3_bench.py`), in front of the emulator, for `scan s3://` and the AWS CLI
//! alike.
//!
//! ```text
//! latency_proxy LATENCY_MS UPSTREAM_PORT [UPSTREAM_PORT ...]
//! ```
//!
//! It listens on a free port of 127.0.0.1 and prints `listening PORT` on stdout. Each line it
//! then reads on stdin is answered with the number of requests delayed so far; stdin's end
//! stops it, so that it never outlives the benchmark that started it.
//!
//! Each accepted connection gets its own connection to an upstream port (round-robin). The
//! first bytes of each request are held for the latency before they are forwarded (with
//! whatever else the client sent meanwhile): the first bytes of a connection, and the first
//! bytes the client sends after the previous response began to come back. Later bytes of the
//! same request and all bytes of a response go straight through. No HTTP parser is needed for
//! that: the clients measured (botocore's urllib3, the Rust SDK's hyper, curl) never pipeline,
//! so "first bytes after a response" is exactly "a new request". Connection set-up is not
//! delayed (S3 clients reuse connections to avoid the real handshake's round trips), and each
//! connection has its own timer, so concurrent requests are delayed side by side as on a real
//! network.
//!
//! Why Rust, when the rest of the benchmark is Python: on a 2-core machine the proxy shares the
//! CPU with the emulator and the client measured. The asyncio proxy it replaces used 1.2 to 1.5
//! CPU-seconds per 2,000 requests, a fifth of what the emulator had left; this one 0.1 to 0.2,
//! closer to a real network, which costs the client's machine nothing.

use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes read at a time in either direction.
const BUFFER: usize = 64 * 1024;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: latency_proxy LATENCY_MS UPSTREAM_PORT [UPSTREAM_PORT ...]";
    let (latency, upstreams) = match args.split_first() {
        Some((ms, ports)) if !ports.is_empty() => (
            Duration::from_secs_f64(ms.parse::<f64>().map_err(|_| usage)? / 1000.0),
            ports
                .iter()
                .map(|p| p.parse::<u16>().map_err(|_| usage))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        _ => return Err(usage.into()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Requests delayed so far: counted by the connections, read by the stdin loop.
    let requests = Arc::new(AtomicU64::new(0));
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
    println!("listening {}", listener.local_addr()?.port());
    io::stdout().flush()?;

    let counted = Arc::clone(&requests);
    runtime.spawn(async move {
        for n in 0.. {
            let client = match listener.accept().await {
                Ok((client, _)) => client,
                Err(e) => {
                    // Out of file descriptors, say: wait for connections to close.
                    eprintln!("latency_proxy: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let port = upstreams[n % upstreams.len()];
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                // A connection that fails ends; the client sees it closed, as it would on a
                // real network.
                let _ = relay(client, port, latency, &counted).await;
            });
        }
    });

    // The runtime serves on this thread while it waits for stdin on another.
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            if line.is_err() || lines_tx.send(()).is_err() {
                break;
            }
        }
    });
    runtime.block_on(async {
        while lines_rx.recv().await.is_some() {
            println!("{}", requests.load(Ordering::Relaxed));
            let _ = io::stdout().flush();
        }
    });
    Ok(())
}

/// Relays one client connection to a new connection to `port`, holding each request's first
/// bytes for `latency`. Either side closing ends both; bytes already written still go out.
async fn relay(
    mut client: TcpStream,
    port: u16,
    latency: Duration,
    requests: &AtomicU64,
) -> io::Result<()> {
    let mut upstream = TcpStream::connect(("127.0.0.1", port)).await?;
    client.set_nodelay(true)?;
    upstream.set_nodelay(true)?;
    let (mut client_rx, mut client_tx) = client.split();
    let (mut upstream_rx, mut upstream_tx) = upstream.split();
    let new_request = AtomicBool::new(true);

    let forward = async {
        let mut buf = vec![0; BUFFER];
        loop {
            let n = client_rx.read(&mut buf).await?;
            if n == 0 {
                return io::Result::Ok(());
            }
            if new_request.swap(false, Ordering::Relaxed) {
                requests.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(latency).await;
            }
            upstream_tx.write_all(&buf[..n]).await?;
        }
    };
    let backward = async {
        let mut buf = vec![0; BUFFER];
        loop {
            let n = upstream_rx.read(&mut buf).await?;
            if n == 0 {
                return io::Result::Ok(());
            }
            new_request.store(true, Ordering::Relaxed);
            client_tx.write_all(&buf[..n]).await?;
        }
    };
    tokio::select! {
        r = forward => r,
        r = backward => r,
    }
}
