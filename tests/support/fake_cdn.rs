//! A local stand-in for Discord's attachment CDN (`cdn.discordapp.com`):
//! serves registered files with their content type and length, counts
//! requests, and can let every URL "expire" (404, as a signed URL past its
//! `ex=` does) or fail (500). A file can also be sent without a length
//! (chunked, as a CDN streaming from its origin does), or with a
//! `Content-Length` that lies (more than it sends, then the connection
//! closes), so the download's own cut-off and truncation checks are reached.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// A real 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serve,
    /// Every URL answers 404 (the signature expired).
    Expired,
    /// Every URL answers 500.
    Failing,
}

/// How a file's bytes are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// With an honest `Content-Length` (what the CDN does for most files).
    Whole,
    /// `Transfer-Encoding: chunked` in 64 KiB chunks, no `Content-Length`:
    /// the reader cannot refuse up front and must count.
    Chunked,
    /// A `Content-Length` twice the real size; the body ends early.
    LengthLies,
}

struct Inner {
    files: HashMap<String, (String, Vec<u8>, Delivery)>,
    mode: Mode,
    requests: usize,
}

#[derive(Clone)]
pub struct FakeCdn {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeCdn {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            files: HashMap::new(),
            mode: Mode::Serve,
            requests: 0,
        }));
        let app = Router::new()
            .route("/attachments/{*path}", get(serve))
            .with_state(inner.clone());
        let (addr, _server) = super::serve_on_loopback(app, "fake CDN").await;
        Self { addr, inner }
    }

    /// Serves `bytes` as `content_type` and returns its URL.
    pub fn add(&self, name: &str, content_type: &str, bytes: &[u8]) -> String {
        self.add_with(name, content_type, bytes, Delivery::Whole)
    }

    /// Serves `bytes` as `content_type`, sent as `delivery` says.
    pub fn add_with(
        &self,
        name: &str,
        content_type: &str,
        bytes: &[u8],
        delivery: Delivery,
    ) -> String {
        let path = format!("1/{}/{name}", self.inner.lock().unwrap().files.len() + 1);
        let url = format!(
            "http://{}/attachments/{path}?ex=6741e0f0&is=6740bf70&hm=abc",
            self.addr
        );
        self.inner
            .lock()
            .unwrap()
            .files
            .insert(path, (content_type.to_string(), bytes.to_vec(), delivery));
        url
    }

    /// A signed-looking attachment URL on a loopback port nothing listens
    /// on: fetching it fails in transport (connection refused), the error
    /// reqwest prints with the whole URL.
    pub fn unreachable_url(name: &str) -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        format!(
            "http://127.0.0.1:{port}/attachments/111/222/{name}?ex=6741e0f0&is=6740bf70&hm=5ec2e7"
        )
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> usize {
        self.inner.lock().unwrap().requests
    }
}

async fn serve(State(inner): State<Arc<Mutex<Inner>>>, Path(path): Path<String>) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.requests += 1;
    match inner.mode {
        Mode::Expired => {
            return (
                StatusCode::NOT_FOUND,
                "This content is no longer available.",
            )
                .into_response()
        }
        Mode::Failing => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::Serve => {}
    }
    let Some((content_type, bytes, delivery)) = inner.files.get(&path).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match delivery {
        Delivery::Whole => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Delivery::Chunked => {
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
            let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Delivery::LengthLies => {
            // A stream has no size hint, so hyper keeps the header set here
            // and closes the connection when the body ends short of it.
            let claimed = (bytes.len() * 2).to_string();
            let body =
                axum::body::Body::from_stream(futures_util::stream::iter([
                    Ok::<_, std::io::Error>(bytes),
                ]));
            (
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::CONTENT_LENGTH, claimed),
                ],
                body,
            )
                .into_response()
        }
    }
}
