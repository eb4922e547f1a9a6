//! hutch server: the HTTP/WebSocket API, the dashboard pages, the queue manager and its worker
//! process, the dispatch database and the command line. `docs/architecture.md` draws the two data
//! paths (a queue item, a document) step by step.
//!
//! # Layout
//! - [`config`]: flags → `HUTCH_*` variables → `hutch.toml` → defaults; [`cli`]: the `hutch`
//!   subcommands (a client of the API) beside `serve`.
//! - [`db`]: the SQLite pool, embedded migrations, refusal of foreign files; [`dispatches`]: the
//!   dispatch records read back for the UI.
//! - [`listen`] and [`tls`]: the accept loop (header timeout, connection cap) and HTTPS.
//! - [`http`]: the router, one module per feature; [`http::api::Api`] declares every route with its
//!   scope; [`http::ApiError`] is the error shape; `http::openapi` describes the routes.
//! - [`error`] and [`clock`]: ground floor — the one error shape (also the auth checks'), the
//!   one clock and its formats.
//! - [`auth`]: credentials, sessions, scopes, throttling, audit; [`auth::Principal`] is who asks.
//! - [`queue`]: the pure queue state machine (`state`, `edit`, `run`, `position`), plan
//!   validation against the catalogue, persistence (`store`) and the manager task (`manager`,
//!   reached through `handle`; `publish` and `uids` turn its change log into what goes out,
//!   `router` sends the worker's documents, datasets and applets to their owners).
//! - [`worker`]: the worker process protocol, its launch and handle, and the simulated
//!   environment it runs (the bluesky one is the Python package under `server/python`).
//! - [`runs`]: bluesky documents: validation, the single writer, the run store and its pages.
//! - [`hub`]: topics with a per-topic `seq`, fanned out to subscribers (depends on nothing of
//!   hutch's but the wire types); [`stream`]: `/api/stream` over it, the live run feed,
//!   decimation, the per-connection writer; [`status`]: the status board (the bluesky status
//!   dictionary).
//! - [`applets`], [`datasets`], [`mirror`]: dashboard panels and datasets in the master, with
//!   their git-trackable files (`mirrored` opens the stores with their files at start and
//!   imports outside edits); [`console`]: the console ring buffer.
//!
//! Start-up order (see [`prepare`]): data directory, database and migrations, then the caller
//! binds the port and calls [`Prepared::serve`]. Tests bind `127.0.0.1:0` and call [`run`].

pub mod applets;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod datasets;
pub mod db;
pub mod dispatches;
pub mod error;
pub mod http;
pub mod hub;
pub mod listen;
pub mod mirror;
mod mirrored;
pub mod queue;
pub mod runs;
pub mod status;
pub mod stream;
pub mod tls;
pub mod worker;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::SqlitePool;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::console::Console;
use crate::hub::Hub;
use crate::queue::handle::QueueHandle;
use crate::status::StatusBoard;

/// Everything a request handler may need. Cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub config: Arc<Config>,
    pub db: SqlitePool,
    pub hub: Hub,
    pub status: Arc<StatusBoard>,
    pub queue: QueueHandle,
    pub console: Console,
    /// The storage path for bluesky documents.
    pub docs: runs::store::DocWriter,
    /// The live feed of stored documents to run topics.
    pub feed: stream::feed::Feed,
    pub datasets: datasets::Datasets,
    pub applets: applets::Applets,
    /// Authentication: the mode, the single-user key, users, keys, sessions, the audit log.
    pub auth: auth::Auth,
    /// Turns `true` once shutdown begins; long-lived connections watch it and close.
    pub shutdown: watch::Receiver<bool>,
    /// Notified by `manager/stop`: the server shuts down as on SIGTERM.
    pub manager_stop: Arc<tokio::sync::Notify>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot use the data directory {path}: {error}; choose another with --data-dir or HUTCH_DATA_DIR")]
    DataDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the directory of the database {path} does not exist; create it or choose another file with --database")]
    DatabaseDir { path: PathBuf },
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot record the server start in the database: {0}")]
    Record(sqlx::Error),
    #[error("cannot load the queue from the database: {0}")]
    Queue(sqlx::Error),
    #[error("cannot find the hutch program to start workers with: {0}")]
    WorkerExe(std::io::Error),
    #[error("cannot use the mirror directory {path}: {error}; choose another with --mirror-dir or HUTCH_MIRROR_DIR")]
    MirrorDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot load datasets or applets from the database: {0}")]
    Load(sqlx::Error),
    #[error("permissions file: {0}; see docs/security.md for its format")]
    Permissions(String),
    #[error("{0}; give PEM files to --tls-cert and --tls-key")]
    Tls(String),
    #[error("the API key (HUTCH_API_KEY or api_key in the config file) is shorter than {MIN_API_KEY} characters; choose a longer one, or unset it to let hutch make one")]
    WeakApiKey,
    #[error("cannot read or save the API key in {path}: {error}; set HUTCH_API_KEY instead")]
    ApiKey {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// A server that has its database open and migrated, ready to serve on a bound listener.
pub struct Prepared {
    state: AppState,
    stop: watch::Sender<bool>,
}

/// Checks the data directory, opens and migrates the database, and builds the state.
pub async fn prepare(config: Config) -> Result<Prepared, StartError> {
    ensure_writable_dir(&config.data_dir)?;
    if let Some(parent) = config
        .database
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        if !parent.is_dir() {
            return Err(StartError::DatabaseDir {
                path: config.database.clone(),
            });
        }
    }
    let (db, opened) = db::open(&config.database).await?;
    let writer = db::open_writer(&config.database).await?;
    if opened == db::Opened::Created {
        tracing::warn!(
            database = %config.database.display(),
            "the database did not exist, so a new, empty one was created (normal on the first start)"
        );
    }
    sqlx::query("INSERT INTO server_starts (started_at, version, pid) VALUES (?, ?, ?)")
        .bind(crate::clock::Timestamp::now().record())
        .bind(env!("CARGO_PKG_VERSION"))
        .bind(i64::from(std::process::id()))
        .execute(&db)
        .await
        .map_err(StartError::Record)?;
    warn_if_bundle_missing(&config.site_dir);
    if let Some((cert, key)) = &config.tls {
        tls::server_config(cert, key).map_err(StartError::Tls)?;
    }

    let leptos = LeptosOptions::builder()
        .output_name("hutch")
        .site_root(config.site_dir.display().to_string())
        .site_pkg_dir("pkg")
        .build();
    if let Some(k) = &config.api_key {
        if k.trim().chars().count() < MIN_API_KEY {
            return Err(StartError::WeakApiKey);
        }
    }
    let api_key: Arc<str> = match &config.api_key {
        Some(k) => k.as_str().into(),
        None => saved_api_key(&config.data_dir)?.into(),
    };
    let secure_cookies = config.secure_cookies || config.tls.is_some();
    let auth = auth::Auth::new(
        config.auth,
        api_key,
        auth::Databases {
            read: db.clone(),
            audit: writer.clone(),
        },
        secure_cookies,
        config.audit,
    );
    if config.auth == auth::Mode::Multi {
        match auth.store.user_count().await {
            Ok(0) => tracing::warn!(
                "multi-user mode and no users yet: add an admin with `hutch user add NAME --role admin` \
                 (the machine's own key, DATA_DIR/api_key, works meanwhile as local-admin)"
            ),
            Ok(n) => tracing::info!("multi-user mode: {n} user accounts"),
            Err(e) => tracing::error!("cannot count the users: {e}"),
        }
    }
    let hub = Hub::default();
    let status = StatusBoard::new(hub.clone());
    let console = Console::with_hub(hub.clone());
    let (stop, shutdown) = watch::channel(false);
    let worker_exe = match &config.worker_exe {
        Some(exe) => exe.clone(),
        None => std::env::current_exe().map_err(StartError::WorkerExe)?,
    };
    let (feed, feed_sink) = stream::feed::start(hub.clone(), db.clone());
    let docs = runs::store::start(writer.clone(), Some(feed_sink));
    let (datasets, applets) = mirrored::start(&config, &db, &hub, &console, &shutdown).await?;
    // The plans and devices come from the environment (its `ready` message, stored for the next
    // start); only the permissions are configured here.
    let mut permissions = None;
    if let Some(path) = &config.permissions {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StartError::Permissions(format!("cannot read {}: {e}", path.display())))?;
        let perms = queue::permissions::Permissions::parse(&text).map_err(|e| {
            StartError::Permissions(format!("{} is not valid: {e}", path.display()))
        })?;
        permissions = Some(Arc::new(perms));
    }
    let setup = queue::manager::Setup {
        hub: hub.clone(),
        docs: docs.clone(),
        permissions,
        status: status.clone(),
        console: console.clone(),
        launch: worker::launch::Launch {
            environment: config.environment.clone(),
            exe: worker_exe,
            assets: config.data_dir.join("assets"),
            python_dir: config.data_dir.join("python"),
        },
        emergency_key: config.emergency_lock_key.clone(),
        datasets: datasets.clone(),
        applets: applets.clone(),
    };
    let queue = queue::manager::start(writer.clone(), setup, shutdown.clone())
        .await
        .map_err(StartError::Queue)?;
    let state = AppState {
        leptos,
        config: Arc::new(config),
        db,
        hub,
        status,
        queue,
        console,
        docs,
        feed,
        datasets,
        applets,
        auth,
        shutdown,
        manager_stop: Arc::new(tokio::sync::Notify::new()),
    };
    Ok(Prepared { state, stop })
}

impl Prepared {
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then closes live connections and finishes open requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        use axum::serve::ListenerExt;
        let app = http::router(self.state.clone());
        let limits = self.state.config.connections;
        let stop = self.stop;
        let asked = self.state.manager_stop.clone();
        let graceful = async move {
            tokio::select! {
                () = shutdown => {}
                () = asked.notified() => tracing::info!("stopping: manager/stop was requested"),
            }
            let _ = stop.send(true);
        };
        let result = match &self.state.config.tls {
            Some((cert, key)) => {
                let tls = tls::server_config(cert, key)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
                let listener = tls::TlsListener::new(listener, tls)?;
                listen::serve(listener, app, limits, graceful).await
            }
            None => {
                // Small JSON replies must leave at once, not wait for Nagle's algorithm.
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                listen::serve(listener, app, limits, graceful).await
            }
        };
        self.state.db.close().await;
        result
    }
}

/// [`prepare`] then [`Prepared::serve`]: the whole server on a listener the caller bound.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let prepared = prepare(config).await?;
    prepared.serve(listener, shutdown).await?;
    Ok(())
}

/// Completes once server shutdown begins (or the shutdown sender is gone).
pub async fn stopping(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Shortest API key hutch accepts from its settings (a guessable key guards the whole beamline).
pub const MIN_API_KEY: usize = 8;

/// The key saved in DATA_DIR/api_key, or a new one saved there (readable by the owner only).
fn saved_api_key(data_dir: &Path) -> Result<String, StartError> {
    let path = data_dir.join("api_key");
    let fail = |error| StartError::ApiKey {
        path: path.clone(),
        error,
    };
    match std::fs::read_to_string(&path) {
        Ok(k) if !k.trim().is_empty() => return Ok(k.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    let key = auth::generate_key();
    // Created readable by its owner only from the first byte (a chmod afterwards would leave a
    // moment in which others could read it).
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(fail)?;
    std::io::Write::write_all(&mut file, format!("{key}\n").as_bytes()).map_err(fail)?;
    Ok(key)
}

fn ensure_writable_dir(dir: &Path) -> Result<(), StartError> {
    let fail = |error| StartError::DataDir {
        path: dir.to_owned(),
        error,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".hutch-write-test");
    std::fs::write(&probe, b"").map_err(fail)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn warn_if_bundle_missing(site_dir: &Path) {
    let js = site_dir.join("pkg/hutch.js");
    if !js.exists() {
        tracing::warn!(
            missing = %js.display(),
            "the browser bundle is missing: pages will render but not come alive; \
             build it with `.ci/dev build-site` or point --site-dir at a built one"
        );
    }
}
