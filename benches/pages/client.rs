//! A client that requests the way `ab` does: every request on a new TCP
//! connection, HTTP/1.0 (no keep-alive), read to the end; timed from the
//! connect to the last byte.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Requests `path` from `address` (`127.0.0.1:port`) and returns the body;
/// `Err` unless the status is 200 and the body is not empty.
pub async fn get(address: &str, path: &str) -> anyhow::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(address)
        .await
        .with_context(|| format!("connect to {address}"))?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {address}\r\nUser-Agent: pages-bench\r\nAccept: */*\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::with_capacity(32 * 1024);
    stream.read_to_end(&mut response).await?;
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .with_context(|| format!("{path}: no end of headers"))?;
    let status_line = response[..end]
        .split(|b| *b == b'\r')
        .next()
        .map(String::from_utf8_lossy)
        .unwrap_or_default()
        .into_owned();
    anyhow::ensure!(
        status_line.split_whitespace().nth(1) == Some("200"),
        "{path}: {status_line}"
    );
    let body = response.split_off(end + 4);
    anyhow::ensure!(!body.is_empty(), "{path}: empty page");
    Ok(body)
}

/// `rounds` requests to `path` with `workers` in flight (as `ab -c`), each
/// timed on its own, after `warm_up` untimed ones at the same concurrency;
/// sorted.
pub async fn measure(
    address: &str,
    path: &str,
    workers: usize,
    warm_up: usize,
    rounds: usize,
) -> anyhow::Result<Vec<Duration>> {
    if warm_up > 0 {
        Box::pin(measure(address, path, workers, 0, warm_up)).await?;
    }
    let each = rounds / workers;
    let runs = (0..workers).map(|_| {
        let (address, path) = (address.to_string(), path.to_string());
        tokio::spawn(async move {
            let mut times = Vec::with_capacity(each);
            for _ in 0..each {
                let start = Instant::now();
                get(&address, &path).await?;
                times.push(start.elapsed());
            }
            anyhow::Ok(times)
        })
    });
    let mut times = Vec::with_capacity(rounds);
    for run in futures_util::future::join_all(runs).await {
        times.extend(run??);
    }
    times.sort();
    Ok(times)
}

/// The path `steps` "Older →" links after `path`, followed the way a reader
/// does.
pub async fn follow_older(address: &str, path: &str, steps: usize) -> anyhow::Result<String> {
    let mut path = path.to_string();
    for step in 0..steps {
        let body = String::from_utf8(get(address, &path).await?)?;
        let end = body
            .find("\">Older")
            .with_context(|| format!("{path}: no Older link after {step} steps"))?;
        let start = body[..end].rfind("href=\"").context("a link")? + "href=\"".len();
        let href = body[start..end]
            .replace("&amp;", "&")
            .replace("&#x2f;", "/");
        let dir = path.split('?').next().unwrap_or_default().to_string();
        path = match href.strip_prefix("./") {
            Some(rest) => format!("{dir}{rest}"),
            None if href.starts_with('?') => format!("{dir}{href}"),
            None => href,
        };
    }
    Ok(path)
}

/// The `p`th percentile (0–1) of sorted `times`, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted
        .get(index.min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}
