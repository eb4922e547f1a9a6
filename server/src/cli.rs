//! `hutch`'s client commands (`hutch status`, `hutch queue add plan …`, `hutch monitor`, …): a
//! terminal client of a running hutch, in the friendly form of bluesky's `qserver`.
//!
//! The server and key come from `--url` / `HUTCH_URL` and `--api-key` / `HUTCH_API_KEY`, else
//! from the local settings (`bind`, and the key saved in `DATA_DIR/api_key`), so on the machine
//! that runs hutch no flag is needed. Exit codes: 0 done, 1 refused by hutch, 2 bad usage,
//! 3 hutch not reachable, 4 not signed in, 5 timed out.

pub mod accounts;
pub mod args;
mod client;
mod commands;
mod live;
mod table;
pub mod top;

pub use args::ClientCommand;
pub use client::Failure;

use crate::config::{Config, ServeArgs};

/// The URL and key to use: flags and variables first, then the local settings.
fn connection(conn: &args::Conn, env: &dyn Fn(&str) -> Option<String>) -> (String, Option<String>) {
    let local = Config::resolve(ServeArgs::default(), env).ok();
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
        format!("http://{host}:{}", bind.port())
    });
    let key = conn.api_key.clone().filter(|k| !k.is_empty()).or_else(|| {
        let dir = local?.data_dir;
        std::fs::read_to_string(dir.join("api_key"))
            .ok()
            .map(|k| k.trim().to_string())
    });
    (url, key)
}

/// Runs a client command; the error says what went wrong and what to do.
pub async fn run(cmd: ClientCommand, env: &dyn Fn(&str) -> Option<String>) -> Result<(), Failure> {
    let conn = cmd.conn().clone();
    let (url, key) = connection(&conn, env);
    let client = client::Client::new(&url, key)?;
    let out = table::Out { json: conn.json };
    commands::run(cmd, &client, &out).await
}
