//! The `hutch` binary: parses the command line and runs the chosen command.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use hutch_server::cli::top::{Cli, Command};
use hutch_server::config::Config;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hutch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hutch: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => serve(Config::resolve(args, &env_var)?).await,
        Command::Config(args) => {
            print!("{}", Config::resolve(args, &env_var)?.to_toml());
            Ok(())
        }
        Command::Db(args) => db_command(args).await,
        Command::User(args) => {
            let config = Config::resolve(args.action.settings().clone(), &env_var)?;
            hutch_server::cli::accounts::user(args.action, &config).await
        }
        Command::Apikey(args) => {
            let config = Config::resolve(args.action.settings().clone(), &env_var)?;
            hutch_server::cli::accounts::apikey(args.action, &config).await
        }
        Command::Client(cmd) => match hutch_server::cli::run(cmd, &env_var).await {
            Ok(()) => Ok(()),
            Err(e) => {
                eprintln!("hutch: {e}");
                std::process::exit(i32::from(e.code()));
            }
        },
        Command::Worker(args) => {
            std::process::exit(hutch_server::worker::main_loop::run(args.assets))
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    tracing::info!(?config, "starting hutch {}", env!("CARGO_PKG_VERSION"));
    let bind = config.bind;
    let prepared = hutch_server::prepare(config).await?;
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| {
        format!("cannot listen on {bind}; is another hutch running? choose another address with --bind or HUTCH_BIND")
    })?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let shutdown = shutdown_signal()?;
    let state = prepared.state();
    let key = state.auth.single_key().to_string();
    let scheme = if state.config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!("hutch is serving the dashboard and API at {scheme}://{addr}");
    match state.auth.mode {
        hutch_server::auth::Mode::Single => tracing::info!(
            "API key: {key} (clients send 'Authorization: ApiKey {key}'); open {scheme}://{addr}/?api_key={key} in a browser to sign in"
        ),
        hutch_server::auth::Mode::Multi => tracing::info!(
            "multi-user mode: people sign in at {scheme}://{addr}/login; this machine's key (DATA_DIR/api_key) acts as local-admin"
        ),
    }
    prepared
        .serve(listener, shutdown)
        .await
        .context("the server stopped with an error")?;
    tracing::info!("hutch stopped");
    Ok(())
}

async fn db_command(args: hutch_server::cli::top::DbArgs) -> anyhow::Result<()> {
    use hutch_server::cli::top::DbAction;
    let config = Config::resolve(args.settings, &env_var)?;
    let (pool, _) = hutch_server::db::open(&config.database).await?;
    match args.action {
        DbAction::Backup { path } => {
            anyhow::ensure!(
                !path.exists(),
                "{} exists already; choose a new file for the backup",
                path.display()
            );
            hutch_server::db::backup(&pool, &path)
                .await
                .with_context(|| format!("cannot write the backup to {}", path.display()))?;
            println!(
                "backed up {} to {}",
                config.database.display(),
                path.display()
            );
        }
        DbAction::Check => {
            let problems = hutch_server::db::check(&pool)
                .await
                .context("the check itself failed")?;
            if !problems.is_empty() {
                for p in &problems {
                    println!("{p}");
                }
                anyhow::bail!(
                    "{} problem(s) in {}; restore a backup (hutch db backup makes one)",
                    problems.len(),
                    config.database.display()
                );
            }
            println!("{}: ok", config.database.display());
        }
        DbAction::Trim {
            keep,
            older_than_days,
            audit_older_than_days,
            audit_keep,
        } => {
            anyhow::ensure!(
                keep.is_some()
                    || older_than_days.is_some()
                    || audit_older_than_days.is_some()
                    || audit_keep.is_some(),
                "say what to trim: --keep N and/or --older-than-days DAYS for history, \
                 --audit-keep N and/or --audit-older-than-days DAYS for the audit log"
            );
            for days in [older_than_days, audit_older_than_days]
                .into_iter()
                .flatten()
            {
                anyhow::ensure!(
                    days.is_finite() && days >= 0.0,
                    "a number of days must be 0 or more, got {days}"
                );
            }
            if keep.is_some() || older_than_days.is_some() {
                let before =
                    older_than_days.map(|d| hutch_server::clock::unix_now() - d * 86_400.0);
                let gone = hutch_server::db::trim(&pool, keep, before)
                    .await
                    .context("trimming failed; nothing was deleted")?;
                println!("deleted {gone} finished execution(s) with their runs and documents");
            }
            if audit_keep.is_some() || audit_older_than_days.is_some() {
                let rows = audit_keep.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
                let gone = hutch_server::auth::audit::trim(&pool, audit_older_than_days, rows)
                    .await
                    .context("trimming the audit log failed")?;
                println!("deleted {gone} audit-log entries");
            }
        }
    }
    pool.close().await;
    Ok(())
}

/// Installs the SIGINT/SIGTERM handlers now (so a signal that arrives right after start-up is not
/// fatal) and returns a future that completes on the first of them.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt =
        signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    let mut terminate =
        signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down: closing live connections and finishing open requests");
    })
}
