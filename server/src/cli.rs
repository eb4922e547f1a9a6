//! `hutch`'s client commands (`hutch status`, `hutch queue add plan …`, `hutch monitor`, …): a
//! terminal client of a running hutch, in the friendly form of bluesky's `qserver`.
//!
//! The server and key come from `--url` / `HUTCH_URL` and `--api-key` / `HUTCH_API_KEY`, else
//! from the local settings (`bind`, and the key saved in `DATA_DIR/api_key`), so on the machine
//! that runs hutch no flag is needed. Exit codes: 0 done, 1 refused by hutch, 2 bad usage,
//! 3 hutch not reachable, 4 not signed in, 5 timed out.

pub mod accounts;
pub mod args;
pub mod client;
mod commands;
mod live;
mod table;
pub mod top;

pub use args::ClientCommand;
pub use client::Failure;

use crate::config::{Config, ServeArgs};

/// Where to connect: flags and variables first, then the local settings.
struct Connection {
    url: String,
    key: Option<String>,
    ca: Option<std::path::PathBuf>,
}

/// The URL, key and extra trusted certificate: flags and variables first, then the local
/// settings (their `bind`, `DATA_DIR/api_key`, and `tls_cert`, which also makes it https://).
fn connection(conn: &args::Conn, env: &dyn Fn(&str) -> Option<String>) -> Connection {
    let local = Config::resolve(ServeArgs::default(), env).ok();
    let local_cert = local
        .as_ref()
        .and_then(|c| c.tls.as_ref().map(|t| t.0.clone()));
    let url = conn.url.clone().unwrap_or_else(|| {
        let bind = local.as_ref().map_or_else(
            || crate::config::DEFAULT_BIND.parse().expect("literal"),
            |c| c.bind,
        );
        let host = if bind.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            bind.ip().to_string()
        };
        let scheme = if local_cert.is_some() {
            "https"
        } else {
            "http"
        };
        // A certificate names hosts, not the loopback address a bind implies.
        let host = if local_cert.is_some() && host == "127.0.0.1" {
            "localhost".to_string()
        } else {
            host
        };
        format!("{scheme}://{host}:{}", bind.port())
    });
    let key = conn.api_key.clone().filter(|k| !k.is_empty()).or_else(|| {
        let dir = local?.data_dir;
        std::fs::read_to_string(dir.join("api_key"))
            .ok()
            .map(|k| k.trim().to_string())
    });
    let ca = conn.ca_cert.clone().or(local_cert);
    Connection { url, key, ca }
}

/// Runs a client command; the error says what went wrong and what to do.
pub async fn run(cmd: ClientCommand, env: &dyn Fn(&str) -> Option<String>) -> Result<(), Failure> {
    let conn = cmd.conn().clone();
    let c = connection(&conn, env);
    let client = client::Client::new(&c.url, c.key, c.ca.as_deref())?;
    let out = table::Out { json: conn.json };
    commands::run(cmd, &client, &out).await
}
