//! The CLI's connection to a hutch server, over HTTP or HTTPS: hyper's HTTP/1.1 client (one
//! connection per request, which is plenty for a terminal) and the `/api/stream` WebSocket
//! for `monitor` and `wait`. HTTPS trusts the system's certificate authorities
//! (`SSL_CERT_FILE`, else `/etc/ssl/certs/ca-certificates.crt`) and `--ca-cert` (a
//! self-signed server's own certificate, for example).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
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
#[derive(Clone)]
pub struct Client {
    /// `host:port`.
    pub authority: String,
    host: String,
    port: u16,
    /// Set for `https://`.
    tls: Option<Arc<rustls::ClientConfig>>,
    pub key: Option<String>,
    pub url: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest reply the CLI reads (a long history as JSON is a few MB).
const MAX_REPLY: usize = 256 << 20;
/// The system's certificate authorities on Debian and its relatives.
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A connection, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl Client {
    /// `url` is `http://HOST[:PORT]` or `https://HOST[:PORT]`; `ca` adds a trusted certificate
    /// (PEM) for HTTPS.
    pub fn new(url: &str, key: Option<String>, ca: Option<&Path>) -> Result<Client, Failure> {
        let url = url.trim_end_matches('/');
        let (rest, https) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => (rest, false),
            (_, Some(rest)) => (rest, true),
            _ => {
                return Err(Failure::Usage(format!(
                    "the server URL must start with http:// or https:// (got '{url}'); set it with --url or HUTCH_URL"
                )))
            }
        };
        let bad = || {
            Failure::Usage(format!(
                "the server URL must be http(s)://HOST[:PORT] (got '{url}')"
            ))
        };
        if rest.is_empty() || rest.contains('/') {
            return Err(bad());
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(':') => (h, p.parse::<u16>().map_err(|_| bad())?),
            _ => (rest, if https { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(bad());
        }
        let tls = if https { Some(tls_config(ca)?) } else { None };
        Ok(Client {
            authority: format!("{host}:{port}"),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            tls,
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

    /// A connection to the server, through TLS for `https://`.
    async fn connect(&self) -> Result<Box<dyn Io>, Failure> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| self.unreachable(e))?;
        let Some(config) = &self.tls else {
            return Ok(Box::new(tcp));
        };
        let name = ServerName::try_from(self.host.clone())
            .map_err(|e| Failure::Usage(format!("'{}' is no host name: {e}", self.host)))?;
        let tls = tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| {
                Failure::Connect(format!(
                    "the TLS handshake with {} failed ({e}); if hutch has a self-signed certificate, pass it with --ca-cert / HUTCH_CA_CERT",
                    self.url
                ))
            })?;
        Ok(Box::new(tls))
    }

    /// Sends a request; returns the status and the body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), Failure> {
        let exchange = async {
            let io = self.connect().await?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
                .await
                .map_err(|e| self.unreachable(e))?;
            // The connection is driven beside the request and ends with it.
            tokio::spawn(conn);
            let mut req = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header(header::HOST, &self.authority)
                .header(
                    header::USER_AGENT,
                    concat!("hutch-cli/", env!("CARGO_PKG_VERSION")),
                )
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(key) = &self.key {
                req = req.header(header::AUTHORIZATION, format!("ApiKey {key}"));
            }
            let req = req
                .body(Full::new(Bytes::copy_from_slice(body.unwrap_or_default())))
                .map_err(|e| Failure::Usage(format!("cannot send {method} {path}: {e}")))?;
            let res = sender
                .send_request(req)
                .await
                .map_err(|e| self.unreachable(e))?;
            let status = res.status().as_u16();
            let bytes = Limited::new(res.into_body(), MAX_REPLY)
                .collect()
                .await
                .map_err(|e| self.unreachable(format!("the reply was cut off: {e}")))?
                .to_bytes();
            Ok((status, bytes.to_vec()))
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
        let refusal = Refusal::deserialize(&v).unwrap_or_default();
        let msg = refusal.text();
        match status {
            401 | 403 => Err(Failure::Auth(format!(
                "hutch refused the API key ({}): set HUTCH_API_KEY or --api-key (hutch prints its key at start; it is also in DATA_DIR/api_key)",
                msg.unwrap_or_else(|| format!("HTTP {status}"))
            ))),
            200..=299 if keep_refusals || refusal.success != Some(false) => Ok(v),
            _ => Err(Failure::Refused(msg.filter(|m| !m.is_empty()).unwrap_or_else(|| format!("HTTP {status}: {v}")))),
        }
    }

    /// Opens `/api/stream`, signed in (WSS for `https://`).
    pub async fn stream(&self) -> Result<Ws, Failure> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        let mut req = format!("{scheme}://{}/api/stream", self.authority)
            .into_client_request()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        if let Some(key) = &self.key {
            if let Ok(v) = format!("ApiKey {key}").parse() {
                req.headers_mut().insert("authorization", v);
            }
        }
        let io = self.connect().await?;
        let (ws, _) = tokio_tungstenite::client_async(req, io)
            .await
            .map_err(|e| self.unreachable(e))?;
        Ok(ws)
    }
}

/// The common part of every reply: `success` and the refusal's text (`msg`, or FastAPI's
/// `detail` for a reply that is not bluesky's shape).
#[derive(Debug, Default, Deserialize)]
pub struct Refusal {
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    detail: Option<Value>,
}

impl Refusal {
    /// The refusal of a reply body, if it has one.
    pub fn of(body: &[u8]) -> Option<String> {
        serde_json::from_slice::<Refusal>(body).ok()?.text()
    }

    pub fn text(&self) -> Option<String> {
        self.msg.clone().or_else(|| {
            self.detail
                .as_ref()
                .and_then(|d| d.as_str())
                .map(String::from)
        })
    }
}

pub type Ws = tokio_tungstenite::WebSocketStream<Box<dyn Io>>;

/// The TLS settings of `https://`: the system's authorities and `ca`, if given.
fn tls_config(ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, Failure> {
    let mut roots = rustls::RootCertStore::empty();
    let system: std::path::PathBuf =
        std::env::var_os("SSL_CERT_FILE").map_or_else(|| SYSTEM_CAS.into(), Into::into);
    if let Ok(certs) = CertificateDer::pem_file_iter(&system) {
        // A certificate of the bundle that rustls cannot use is skipped, as browsers do.
        roots.add_parsable_certificates(certs.flatten());
    }
    if let Some(ca) = ca {
        let certs: Vec<_> = CertificateDer::pem_file_iter(ca)
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                Failure::Usage(format!(
                    "cannot read the certificate {} given with --ca-cert: {e}",
                    ca.display()
                ))
            })?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(Failure::Usage(format!(
                "{} (--ca-cert) holds no usable certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
                ca.display()
            )));
        }
    }
    if roots.is_empty() {
        return Err(Failure::Usage(format!(
            "no trusted certificate authorities for https:// (none in {}); pass hutch's certificate with --ca-cert / HUTCH_CA_CERT",
            system.display()
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::Usage(format!("TLS set-up failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_or_https_host_and_port() {
        let c = Client::new("http://127.0.0.1:60610/", None, None).unwrap();
        assert_eq!(c.authority, "127.0.0.1:60610");
        assert!(c.tls.is_none());
        assert_eq!(
            Client::new("http://beamline", None, None)
                .unwrap()
                .authority,
            "beamline:80"
        );
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("cert.pem");
        std::fs::write(&pem, cert.cert.pem()).unwrap();
        let c = Client::new("https://localhost", None, Some(&pem)).unwrap();
        assert_eq!(c.authority, "localhost:443");
        assert!(c.tls.is_some());
        for bad in [
            "127.0.0.1:60610",
            "ftp://x:1",
            "http://x:1/api",
            "http://x:port",
            "https://:1",
        ] {
            assert_eq!(Client::new(bad, None, None).unwrap_err().code(), 2, "{bad}");
        }
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let err = Client::new("https://x", None, Some(&junk)).unwrap_err();
        assert!(err.to_string().contains("no usable certificate"), "{err}");
    }
}
