//! The flags and `HUTCH_*` environment variables of `hutch serve` (read together by clap), also
//! flattened into the commands that open hutch's database; [`super::Config`] resolves them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Settings of `hutch serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Config file in TOML with any of the keys bind, data_dir, database, site_dir, mirror_dir, api_key,
    /// emergency_lock_key, auth, tls_cert, tls_key, secure_cookies, permissions, environment,
    /// startup_dir, startup_script, startup_module, python, audit_keep_days.
    /// [default: $XDG_CONFIG_HOME/hutch/hutch.toml (~/.config/hutch/hutch.toml) if it exists]
    #[arg(long, env = "HUTCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address and port to listen on. Use 0.0.0.0:60610 to accept connections from other machines.
    /// [file key: bind] [default: 127.0.0.1:60610]
    #[arg(long, env = "HUTCH_BIND", value_name = "ADDR:PORT")]
    pub bind: Option<SocketAddr>,

    /// Directory for hutch's state (the database and, later, mirrors); created if missing.
    /// [file key: data_dir] [default: $XDG_DATA_HOME/hutch, i.e. ~/.local/share/hutch]
    #[arg(long, env = "HUTCH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// SQLite dispatch database; created (with a warning) if missing.
    /// [file key: database] [default: DATA_DIR/hutch.db]
    #[arg(long, env = "HUTCH_DATABASE", value_name = "PATH")]
    pub database: Option<PathBuf>,

    /// Directory holding the built browser bundle (pkg/hutch.js, pkg/hutch_bg.wasm, pkg/hutch.css).
    /// [file key: site_dir] [default: target/site of the source checkout this binary was built from]
    #[arg(long, env = "HUTCH_SITE_DIR", value_name = "DIR")]
    pub site_dir: Option<PathBuf>,

    /// Directory for the git-trackable mirrors applets.json and datasets.json (e.g. inside a git
    /// repository); created if missing. Edits there (or a `git checkout`) are imported.
    /// [file key: mirror_dir] [default: DATA_DIR]
    #[arg(long, env = "HUTCH_MIRROR_DIR", value_name = "DIR")]
    pub mirror_dir: Option<PathBuf>,

    /// Who may use hutch: `single` (one API key with every right, as bluesky-httpserver) or
    /// `multi` (user accounts with roles, sign-in, per-user API keys; see docs/security.md).
    /// [file key: auth] [default: single]
    #[arg(long, env = "HUTCH_AUTH", value_name = "MODE")]
    pub auth: Option<String>,

    /// PEM certificate chain: serve HTTPS and WSS (with --tls-key).
    /// [file key: tls_cert]
    #[arg(long, env = "HUTCH_TLS_CERT", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    /// [file key: tls_key]
    #[arg(long, env = "HUTCH_TLS_KEY", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,

    /// Mark cookies Secure although hutch itself serves plain HTTP: set this behind a reverse
    /// proxy that terminates HTTPS. (Under --tls-cert they are always Secure.)
    /// [file key: secure_cookies] [default: false]
    #[arg(long, env = "HUTCH_SECURE_COOKIES", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub secure_cookies: Option<bool>,

    /// Per-group allowed plans and devices (TOML with regular expressions, like bluesky's
    /// user-group permissions file; docs/security.md). Without it every group may use everything.
    /// [file key: permissions]
    #[arg(long, env = "HUTCH_PERMISSIONS", value_name = "FILE")]
    pub permissions: Option<PathBuf>,

    /// The environment `environment/open` starts: `sim` (hutch's simulated devices and plans) or
    /// `bluesky` (a real RunEngine running your startup profile in your own Python; give exactly
    /// one of --startup-dir, --startup-script, --startup-module, and --python).
    /// [file key: environment] [default: sim]
    #[arg(long, env = "HUTCH_ENVIRONMENT", value_name = "sim|bluesky")]
    pub environment: Option<String>,

    /// bluesky environment: a profile directory (e.g. profile_collection) whose Python files run
    /// in name order, as start-re-manager's --startup-dir. [file key: startup_dir]
    #[arg(long, env = "HUTCH_STARTUP_DIR", value_name = "DIR")]
    pub startup_dir: Option<PathBuf>,

    /// bluesky environment: one startup script, as start-re-manager's --startup-script.
    /// [file key: startup_script]
    #[arg(long, env = "HUTCH_STARTUP_SCRIPT", value_name = "FILE")]
    pub startup_script: Option<PathBuf>,

    /// bluesky environment: an importable startup module, as start-re-manager's --startup-module.
    /// [file key: startup_module]
    #[arg(long, env = "HUTCH_STARTUP_MODULE", value_name = "NAME")]
    pub startup_module: Option<String>,

    /// bluesky environment: the Python to run it in; it needs bluesky, ophyd and
    /// bluesky-queueserver (hutch brings its own worker code). [file key: python]
    /// [default: python3 on PATH]
    #[arg(long, env = "HUTCH_PYTHON", value_name = "PATH")]
    pub python: Option<PathBuf>,

    /// Keep audit-log entries this many days; older ones are deleted at start and hourly (the
    /// log also keeps at most its newest 1 000 000 entries). [file key: audit_keep_days]
    /// [default: 365]
    #[arg(long, env = "HUTCH_AUDIT_KEEP_DAYS", value_name = "DAYS")]
    pub audit_keep_days: Option<f64>,
}
