//! Configuration: command-line flags, then `HUTCH_*` environment variables, then an optional
//! `hutch.toml`, then built-in defaults — the first that sets a value wins.
//!
//! clap reads flags and environment variables together (a flag beats its variable); the fields
//! are `Option`s without clap defaults so that an unset value can fall through to the file.

mod args;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use args::ServeArgs;

pub const DEFAULT_BIND: &str = "127.0.0.1:60610";

/// The `hutch.toml` file. Unknown keys are refused so that a typo does not go unnoticed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database: Option<PathBuf>,
    site_dir: Option<PathBuf>,
    mirror_dir: Option<PathBuf>,
    api_key: Option<String>,
    emergency_lock_key: Option<String>,
    auth: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    secure_cookies: Option<bool>,
    permissions: Option<PathBuf>,
    environment: Option<String>,
    startup_dir: Option<PathBuf>,
    startup_script: Option<PathBuf>,
    startup_module: Option<String>,
    python: Option<PathBuf>,
    audit_keep_days: Option<f64>,
}

/// The resolved configuration the server runs with.
#[derive(Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database: PathBuf,
    pub site_dir: PathBuf,
    /// Where applets.json and datasets.json are mirrored.
    pub mirror_dir: PathBuf,
    /// How often the mirror files are checked for outside changes.
    pub mirror_poll: std::time::Duration,
    /// How often `/api/stream` sends a heartbeat on quiet topics.
    pub heartbeat: std::time::Duration,
    /// The single-user API key (`HUTCH_API_KEY` or file key `api_key`); when unset, hutch uses
    /// the key saved in DATA_DIR/api_key, or makes one and saves it there.
    pub api_key: Option<String>,
    /// Accepted by `unlock` whatever the lock key (`HUTCH_EMERGENCY_LOCK_KEY`, file key
    /// `emergency_lock_key`).
    pub emergency_lock_key: Option<String>,
    /// The program started as the worker (`<it> worker --assets DIR`); this binary when unset.
    pub worker_exe: Option<PathBuf>,
    /// Single-user or multi-user.
    pub auth: crate::auth::Mode,
    /// Certificate chain and key (PEM) when hutch serves HTTPS itself.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Cookies carry `Secure` (always under TLS).
    pub secure_cookies: bool,
    /// The per-group permissions file, if any.
    pub permissions: Option<PathBuf>,
    /// What `environment/open` starts.
    pub environment: crate::worker::launch::Environment,
    /// Open connections and the header-read timeout (fixed; see docs/security.md).
    pub connections: crate::listen::Limits,
    /// How much of the audit log is kept.
    pub audit: crate::auth::audit::Retention,
}

impl fmt::Debug for Config {
    // Written by hand so that secrets added later (API keys) are never printed by accident.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("database", &self.database)
            .field("site_dir", &self.site_dir)
            .field("mirror_dir", &self.mirror_dir)
            .field("auth", &self.auth)
            .field("environment", &self.environment)
            .field("tls", &self.tls)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field(
                "emergency_lock_key",
                &self.emergency_lock_key.as_ref().map(|_| "<set>"),
            )
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("no data directory given and neither XDG_DATA_HOME nor HOME is set; pass --data-dir DIR or set HUTCH_DATA_DIR")]
    NoDataDir,
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// A configuration for tests and embedding: everything under `data_dir`, port chosen by the
    /// OS, API key `test-key`.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Config {
            bind: "127.0.0.1:0".parse().expect("literal address"),
            database: data_dir.join("hutch.db"),
            mirror_dir: data_dir.clone(),
            mirror_poll: std::time::Duration::from_millis(50),
            data_dir,
            site_dir: default_site_dir(),
            heartbeat: std::time::Duration::from_secs(10),
            connections: crate::listen::Limits::default(),
            audit: crate::auth::audit::Retention::default(),
            api_key: Some("test-key".into()),
            emergency_lock_key: None,
            worker_exe: None,
            auth: crate::auth::Mode::Single,
            tls: None,
            secure_cookies: false,
            permissions: None,
            environment: crate::worker::launch::Environment::Sim,
        }
    }

    /// Resolves flags/environment (already merged by clap), the config file and the defaults.
    pub fn resolve(
        args: ServeArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file = match args.config.clone() {
            Some(path) => read_file(&path)?,
            None => match default_config_path(env) {
                Some(path) if path.exists() => read_file(&path)?,
                _ => FileConfig::default(),
            },
        };
        let environment = resolve_environment(&args, &file)?;
        let data_dir = match args.data_dir.or(file.data_dir) {
            Some(dir) => dir,
            None => default_data_dir(env).ok_or(ConfigError::NoDataDir)?,
        };
        let auth = match args.auth.or(file.auth) {
            Some(m) => crate::auth::Mode::parse(&m).map_err(ConfigError::Invalid)?,
            None => crate::auth::Mode::Single,
        };
        let tls = match (
            args.tls_cert.or(file.tls_cert),
            args.tls_key.or(file.tls_key),
        ) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid(
                    "HTTPS needs both --tls-cert and --tls-key (or neither for plain HTTP)".into(),
                ))
            }
        };
        let secure_cookies = args.secure_cookies.or(file.secure_cookies).unwrap_or(false);
        let mut audit = crate::auth::audit::Retention::default();
        if let Some(days) = args.audit_keep_days.or(file.audit_keep_days) {
            if !(days.is_finite() && days > 0.0 && days <= 1e6) {
                return Err(ConfigError::Invalid(format!(
                    "audit_keep_days must be a number of days above 0 (and at most 1000000), got {days}"
                )));
            }
            audit.keep_days = days;
        }
        Ok(Config {
            audit,
            environment,
            permissions: args.permissions.or(file.permissions),
            auth,
            tls,
            secure_cookies,
            bind: args
                .bind
                .or(file.bind)
                .unwrap_or_else(|| DEFAULT_BIND.parse().expect("literal address")),
            database: args
                .database
                .or(file.database)
                .unwrap_or_else(|| data_dir.join("hutch.db")),
            site_dir: args
                .site_dir
                .or(file.site_dir)
                .unwrap_or_else(default_site_dir),
            mirror_dir: args
                .mirror_dir
                .or(file.mirror_dir)
                .unwrap_or_else(|| data_dir.clone()),
            mirror_poll: std::time::Duration::from_secs(1),
            data_dir,
            heartbeat: std::time::Duration::from_secs(10),
            connections: crate::listen::Limits::default(),
            api_key: env("HUTCH_API_KEY")
                .filter(|k| !k.is_empty())
                .or(file.api_key),
            emergency_lock_key: env("HUTCH_EMERGENCY_LOCK_KEY")
                .filter(|k| !k.is_empty())
                .or(file.emergency_lock_key),
            worker_exe: None,
        })
    }
}

impl Config {
    /// The settings as `hutch.toml` text, for `hutch config`.
    pub fn to_toml(&self) -> String {
        use crate::worker::launch::{Environment, Startup};
        let q = |p: &Path| format!("{:?}", p.display().to_string());
        let environment = match &self.environment {
            Environment::Sim => "environment = \"sim\"\n".to_string(),
            Environment::Bluesky { startup, python } => {
                let s = match startup {
                    Startup::Dir(d) => format!("startup_dir = {}", q(d)),
                    Startup::Script(f) => format!("startup_script = {}", q(f)),
                    Startup::Module(m) => format!("startup_module = {m:?}"),
                };
                format!("environment = \"bluesky\"\n{s}\npython = {}\n", q(python))
            }
        };
        format!(
            "bind = \"{}\"\ndata_dir = {}\ndatabase = {}\nsite_dir = {}\nmirror_dir = {}\nauth = \"{}\"\nsecure_cookies = {}\naudit_keep_days = {}\n{environment}{}",
            self.bind,
            q(&self.data_dir),
            q(&self.database),
            q(&self.site_dir),
            q(&self.mirror_dir),
            self.auth.as_str(),
            self.secure_cookies,
            self.audit.keep_days,
            match &self.tls {
                Some((c, k)) => format!("tls_cert = {}\ntls_key = {}\n", q(c), q(k)),
                None => String::new(),
            }
        )
    }
}

/// `--environment` with its startup code: flags and variables beat the file as a whole, so a
/// flag's `--startup-script` replaces the file's `startup_dir` instead of clashing with it.
fn resolve_environment(
    args: &ServeArgs,
    file: &FileConfig,
) -> Result<crate::worker::launch::Environment, ConfigError> {
    use crate::worker::launch::{Environment, Startup};
    let from = |dir: &Option<PathBuf>, script: &Option<PathBuf>, module: &Option<String>| {
        let mut out = Vec::new();
        if let Some(d) = dir {
            out.push(Startup::Dir(d.clone()));
        }
        if let Some(f) = script {
            out.push(Startup::Script(f.clone()));
        }
        if let Some(m) = module {
            out.push(Startup::Module(m.clone()));
        }
        out
    };
    let mut startups = from(
        &args.startup_dir,
        &args.startup_script,
        &args.startup_module,
    );
    if startups.is_empty() {
        startups = from(
            &file.startup_dir,
            &file.startup_script,
            &file.startup_module,
        );
    }
    let kind = args
        .environment
        .clone()
        .or(file.environment.clone())
        .unwrap_or_else(|| "sim".into());
    match kind.as_str() {
        "sim" => {
            if !startups.is_empty() {
                return Err(ConfigError::Invalid(
                    "--startup-dir, --startup-script and --startup-module are for --environment bluesky; the simulated environment (the default) has no startup code".into(),
                ));
            }
            Ok(Environment::Sim)
        }
        "bluesky" => {
            let startup = match startups.len() {
                1 => startups.remove(0),
                0 => return Err(ConfigError::Invalid(
                    "--environment bluesky needs its startup code: give one of --startup-dir DIR (a profile_collection directory), --startup-script FILE or --startup-module NAME".into(),
                )),
                _ => return Err(ConfigError::Invalid(
                    "give only one of --startup-dir, --startup-script and --startup-module".into(),
                )),
            };
            let python = args
                .python
                .clone()
                .or(file.python.clone())
                .unwrap_or_else(|| "python3".into());
            Ok(Environment::Bluesky { startup, python })
        }
        other => Err(ConfigError::Invalid(format!(
            "--environment must be sim or bluesky, not '{other}'"
        ))),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_owned(),
        error,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.message().to_string(),
    })
}

fn default_config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    xdg_dir(env, "XDG_CONFIG_HOME", ".config").map(|d| d.join("hutch/hutch.toml"))
}

fn default_data_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    xdg_dir(env, "XDG_DATA_HOME", ".local/share").map(|d| d.join("hutch"))
}

fn xdg_dir(env: &dyn Fn(&str) -> Option<String>, var: &str, under_home: &str) -> Option<PathBuf> {
    match env(var).filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => env("HOME")
            .filter(|v| !v.is_empty())
            .map(|h| Path::new(&h).join(under_home)),
    }
}

/// The bundle built by `.ci/dev build-site` in the checkout this binary was compiled from.
pub fn default_site_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site")
}

#[cfg(test)]
mod tests;
