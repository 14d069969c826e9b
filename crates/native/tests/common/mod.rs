//! What the server tests share: the shipped model, a server on free loopback ports, a minimal
//! HTTP/1.1 client on raw sockets (the tests need no HTTP client crate), the real photo.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use aic_core::codec::NeuralCodec;
use aic_native::serve::{RunningServer, ServeConfig};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The real photo the metric fixtures use (scikit-image's astronaut, made by
/// `tests/fixtures/metrics/make_fixtures.py`).
pub fn photo() -> Vec<u8> {
    let p = root().join("tests/fixtures/generated/metrics/astronaut.png");
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run tests/fixtures/metrics/make_fixtures.py)",
            p.display()
        )
    })
}

pub fn model() -> Arc<NeuralCodec> {
    static M: OnceLock<Arc<NeuralCodec>> = OnceLock::new();
    Arc::clone(M.get_or_init(|| aic_native::backend::Backend::Flex.load_model().unwrap()))
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A server on free loopback ports; `edit` adjusts the config first.
pub fn start(edit: impl FnOnce(&mut ServeConfig)) -> (tokio::runtime::Runtime, RunningServer) {
    let mut c = ServeConfig::default();
    c.listen.http = loopback();
    c.listen.grpc = loopback();
    c.listen.admin = loopback();
    c.webrtc.udp = loopback();
    edit(&mut c);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(aic_native::serve::start(c, model())).unwrap();
    (rt, server)
}

/// A response: status, headers (lowercase names), body.
pub struct Http {
    /// The status code.
    pub status: u16,
    /// The headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Http {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 request on its own connection.
pub fn http(addr: SocketAddr, method: &str, path: &str, content_type: &str, body: &[u8]) -> Http {
    http_with(addr, method, path, content_type, None, body)
}

/// One HTTP/1.1 request on its own connection, with `token` as `Authorization: Bearer`.
pub fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    token: Option<&str>,
    body: &[u8],
) -> Http {
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    // The server may answer (e.g. 413) before reading the whole body.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<_> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked")
    {
        body = dechunk(&body);
    }
    Http {
        status,
        headers,
        body,
    }
}

pub fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
}
