//! Configuration: command-line flags, then `HUTCH_*` environment variables, then an optional
//! `hutch.toml`, then built-in defaults — the first that sets a value wins.
//!
//! clap reads flags and environment variables together (a flag beats its variable); the fields
//! are `Option`s without clap defaults so that an unset value can fall through to the file.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

pub const DEFAULT_BIND: &str = "127.0.0.1:60610";

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
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_follow_xdg() {
        let c = Config::resolve(ServeArgs::default(), &env_of(&[("HOME", "/home/ann")])).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:60610");
        assert_eq!(c.data_dir, PathBuf::from("/home/ann/.local/share/hutch"));
        assert_eq!(
            c.database,
            PathBuf::from("/home/ann/.local/share/hutch/hutch.db")
        );
        let c = Config::resolve(
            ServeArgs::default(),
            &env_of(&[("HOME", "/home/ann"), ("XDG_DATA_HOME", "/data")]),
        )
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/data/hutch"));
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hutch.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:7000\"\ndata_dir = \"/srv/hutch\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file.clone()),
            data_dir: Some("/flag".into()),
            ..Default::default()
        };
        let c = Config::resolve(args, &env_of(&[])).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/flag"), "flag wins over file");
        assert_eq!(c.bind.to_string(), "0.0.0.0:7000", "file wins over default");
        assert_eq!(c.database, PathBuf::from("/flag/hutch.db"));
    }

    #[test]
    fn the_bluesky_environment_needs_exactly_one_startup() {
        use crate::worker::launch::{Environment, Startup};
        let env = env_of(&[("HOME", "/h")]);
        let c = Config::resolve(ServeArgs::default(), &env).unwrap();
        assert_eq!(c.environment, Environment::Sim);
        let args = ServeArgs {
            environment: Some("bluesky".into()),
            startup_dir: Some("/profile".into()),
            ..Default::default()
        };
        let c = Config::resolve(args, &env).unwrap();
        assert_eq!(
            c.environment,
            Environment::Bluesky {
                startup: Startup::Dir("/profile".into()),
                python: "python3".into()
            }
        );
        assert!(c.to_toml().contains("startup_dir = \"/profile\""));
        let none = ServeArgs {
            environment: Some("bluesky".into()),
            ..Default::default()
        };
        let err = Config::resolve(none, &env).unwrap_err().to_string();
        assert!(err.contains("--startup-dir"), "{err}");
        let two = ServeArgs {
            environment: Some("bluesky".into()),
            startup_dir: Some("/p".into()),
            startup_module: Some("m".into()),
            ..Default::default()
        };
        assert!(Config::resolve(two, &env).is_err());
        let sim_with_dir = ServeArgs {
            startup_dir: Some("/p".into()),
            ..Default::default()
        };
        assert!(Config::resolve(sim_with_dir, &env).is_err());
        let odd = ServeArgs {
            environment: Some("epics".into()),
            ..Default::default()
        };
        assert!(Config::resolve(odd, &env).is_err());
        // The file's startup code gives way to a flag's as a whole.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hutch.toml");
        std::fs::write(
            &file,
            "environment = \"bluesky\"\nstartup_dir = \"/from/file\"\npython = \"/venv/bin/python\"\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file),
            startup_module: Some("beamline.startup".into()),
            ..Default::default()
        };
        let c = Config::resolve(args, &env).unwrap();
        assert_eq!(
            c.environment,
            Environment::Bluesky {
                startup: Startup::Module("beamline.startup".into()),
                python: "/venv/bin/python".into()
            }
        );
    }

    #[test]
    fn a_typo_in_the_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hutch.toml");
        std::fs::write(&file, "bnd = \"0.0.0.0:7000\"\n").unwrap();
        let args = ServeArgs {
            config: Some(file),
            ..Default::default()
        };
        let err = Config::resolve(args, &env_of(&[("HOME", "/h")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `bnd`"), "{err}");
    }

    #[test]
    fn a_missing_explicit_config_file_is_an_error() {
        let args = ServeArgs {
            config: Some("/nonexistent/hutch.toml".into()),
            ..Default::default()
        };
        let err = Config::resolve(args, &env_of(&[("HOME", "/h")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot read config file /nonexistent/hutch.toml"),
            "{err}"
        );
    }

    #[test]
    fn no_home_and_no_data_dir_says_what_to_do() {
        let err = Config::resolve(ServeArgs::default(), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--data-dir"), "{err}");
    }
}
