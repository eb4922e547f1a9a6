//! The CLI's connection to a hutch server: plain HTTP/1.1 requests (one connection each, which
//! is plenty for a terminal) and the `/api/stream` WebSocket for `monitor` and `wait`.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why a command failed; each maps to an exit code (see [`Failure::code`]).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The server answered but refused (`success: false` or a 4xx/5xx).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Connect(String),
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    Timeout(String),
    /// Bad input noticed before anything was sent (a file, a JSON argument, …).
    #[error("{0}")]
    Usage(String),
}

impl Failure {
    /// 1 refused, 2 usage, 3 cannot connect, 4 not signed in, 5 timed out.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Refused(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Connect(_) => 3,
            Failure::Auth(_) => 4,
            Failure::Timeout(_) => 5,
        }
    }
}

/// Where the server is and how to sign in.
#[derive(Clone, Debug)]
pub struct Client {
    /// `host:port`.
    pub authority: String,
    pub key: Option<String>,
    pub url: String,
}

const TIMEOUT: Duration = Duration::from_secs(30);

impl Client {
    pub fn new(url: &str, key: Option<String>) -> Result<Client, Failure> {
        let url = url.trim_end_matches('/');
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(Failure::Usage(format!(
                "the server URL must start with http:// (got '{url}'); set it with --url or HUTCH_URL"
            )));
        };
        if rest.is_empty() || rest.contains('/') {
            return Err(Failure::Usage(format!(
                "the server URL must be http://HOST:PORT (got '{url}')"
            )));
        }
        let authority = if rest.contains(':') {
            rest.to_string()
        } else {
            format!("{rest}:80")
        };
        Ok(Client {
            authority,
            key,
            url: url.to_string(),
        })
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> Failure {
        Failure::Connect(format!(
            "cannot reach hutch at {} ({e}); is it running? (`hutch serve`; or set --url / HUTCH_URL)",
            self.url
        ))
    }

    /// Sends a request; returns the status and the body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), Failure> {
        let exchange = async {
            let mut stream = TcpStream::connect(&self.authority)
                .await
                .map_err(|e| self.unreachable(e))?;
            let body = body.unwrap_or_default();
            let mut head = format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: hutch-cli/{}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                self.authority,
                env!("CARGO_PKG_VERSION"),
                body.len()
            );
            if let Some(key) = &self.key {
                head.push_str(&format!("Authorization: ApiKey {key}\r\n"));
            }
            head.push_str("\r\n");
            stream
                .write_all(head.as_bytes())
                .await
                .map_err(|e| self.unreachable(e))?;
            stream
                .write_all(body)
                .await
                .map_err(|e| self.unreachable(e))?;
            let mut raw = Vec::new();
            stream
                .read_to_end(&mut raw)
                .await
                .map_err(|e| self.unreachable(e))?;
            parse_response(&raw).ok_or_else(|| self.unreachable("the answer was not HTTP"))
        };
        tokio::time::timeout(TIMEOUT, exchange).await.map_err(|_| {
            Failure::Timeout(format!(
                "hutch at {} did not answer within {} s",
                self.url,
                TIMEOUT.as_secs()
            ))
        })?
    }

    /// Sends JSON and expects a JSON answer with `success: true` (where the route has it).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        self.call_keeping(method, path, body, false).await
    }

    /// Like [`Client::call`]; with `keep_refusals`, a 200 answer with `success: false` is
    /// returned as it is (for replies that explain per item, such as batch adds).
    pub async fn call_keeping(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        keep_refusals: bool,
    ) -> Result<Value, Failure> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let (status, reply) = self.raw(method, path, bytes.as_deref()).await?;
        let v: Value = serde_json::from_slice(&reply)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&reply).into()));
        let msg = v["msg"]
            .as_str()
            .or_else(|| v["detail"].as_str())
            .map(String::from);
        match status {
            401 | 403 => Err(Failure::Auth(format!(
                "hutch refused the API key ({}): set HUTCH_API_KEY or --api-key (hutch prints its key at start; it is also in DATA_DIR/api_key)",
                msg.unwrap_or_else(|| format!("HTTP {status}"))
            ))),
            200..=299 if keep_refusals || v["success"] != Value::Bool(false) => Ok(v),
            _ => Err(Failure::Refused(msg.filter(|m| !m.is_empty()).unwrap_or_else(|| format!("HTTP {status}: {v}")))),
        }
    }

    /// Opens `/api/stream`, signed in.
    pub async fn stream(&self) -> Result<Ws, Failure> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{}/api/stream", self.authority)
            .into_client_request()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        if let Some(key) = &self.key {
            if let Ok(v) = format!("ApiKey {key}").parse() {
                req.headers_mut().insert("authorization", v);
            }
        }
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .map_err(|e| self.unreachable(e))?;
        Ok(ws)
    }
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Status and body of an HTTP/1.1 response read to its end (chunked bodies are joined).
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let body = &raw[split + 4..];
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:")
            && l.to_ascii_lowercase().contains("chunked")
    });
    if !chunked {
        return Some((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some((status, out));
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chunked_bodies_are_read() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        assert_eq!(parse_response(plain), Some((200, b"ok".to_vec())));
        let chunked = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked), Some((404, b"abcde".to_vec())));
        assert_eq!(parse_response(b"garbage"), None);
    }

    #[test]
    fn urls_must_be_http_host_port() {
        assert_eq!(
            Client::new("http://127.0.0.1:60610/", None)
                .unwrap()
                .authority,
            "127.0.0.1:60610"
        );
        assert_eq!(
            Client::new("http://beamline", None).unwrap().authority,
            "beamline:80"
        );
        for bad in ["127.0.0.1:60610", "https://x:1", "http://x:1/api"] {
            assert_eq!(Client::new(bad, None).unwrap_err().code(), 2, "{bad}");
        }
    }
}
