//! The root of `hutch`'s command line: `serve` (the default), `config`, `db`, `user`, `apikey`,
//! the client commands and the hidden `worker`. The settings flags themselves
//! ([`ServeArgs`]) belong to [`crate::config`], which resolves them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::ServeArgs;

#[derive(Debug, Parser)]
#[command(
    name = "hutch",
    version,
    about = "hutch: the experiment master — plan queue, dispatch database and live dashboard.",
    long_about = "hutch: the experiment master — plan queue, dispatch database and live dashboard.\n\n\
        Without a command, `hutch` runs `hutch serve`: the web dashboard and the \
        bluesky-compatible REST API at http://127.0.0.1:60610 by default.\n\n\
        Every setting comes from, in this order: a flag, its HUTCH_* environment variable, \
        the config file (hutch.toml), the built-in default. Logging follows RUST_LOG \
        (e.g. RUST_LOG=debug or RUST_LOG=hutch_server=trace).",
    args_conflicts_with_subcommands = true,
    after_help = "Run `hutch help COMMAND` (or `hutch COMMAND --help`) for each command's manual; `hutch --help` adds examples.",
    after_long_help = MANUAL
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The end of `hutch --help`: how the client commands are used.
const MANUAL: &str = "\
Running hutch:
  hutch                       serve the dashboard and API (same as `hutch serve`)
  hutch serve --bind 0.0.0.0:60610 --data-dir /srv/hutch
  hutch db backup /backups/hutch-$(date +%F).db
  hutch user add ann --role operator            multi-user mode (--auth multi): accounts
  hutch apikey create --kiosk --note hall-a     a read-only token for a wall screen

Driving a running hutch from a terminal (like bluesky's qserver):
  hutch status                                  states, queue and history sizes, lock
  hutch environment open                        start the worker (simulated devices by default)
  hutch allowed plans                           what can be queued, with parameters
  hutch queue add plan '{\"name\": \"scan\", \"args\": [[\"det\"], \"motor\", -1, 1, 11]}'
  hutch queue add plan front '{\"name\": \"count\", \"args\": [[\"det1\"]], \"kwargs\": {\"num\": 5}}'
  hutch queue add instruction queue_stop
  hutch queue get                               the queue, with item uids
  hutch queue item move 2 front                 also: before UID, after UID, an index
  hutch upload spreadsheet plans.csv            one plan per row, all or nothing
  hutch queue start && hutch wait idle          run it, with a progress bar
  hutch re pause immediate / re resume / re abort
  hutch monitor                                 live status and console until Ctrl-C
  hutch history get ; hutch runs list ; hutch runs export UID > run.jsonl
  hutch datasets list peak. ; hutch datasets set sample.name '\"Si 111\"' --persist
  hutch applets export applets.json ; hutch applets import applets.json

Where hutch is: --url / HUTCH_URL (default http://127.0.0.1:60610, from the local settings).
The key: HUTCH_API_KEY (or --api-key); on hutch's own machine it is read from DATA_DIR/api_key.
Every client command takes --json to print hutch's JSON for scripts.

Exit codes: 0 done; 1 hutch refused (the message says why); 2 bad usage or input;
3 hutch not reachable; 4 the API key was refused; 5 `wait` timed out.";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard and the API (the default when no command is given).
    Serve(ServeArgs),
    /// Print the settings `hutch serve` would use with these flags, variables and file, then exit.
    Config(ServeArgs),
    /// Database operations: backup, check, trim.
    Db(DbArgs),
    /// User accounts of multi-user mode: add, passwd, set, list (on the database; hutch may run).
    User(super::accounts::UserArgs),
    /// API keys and read-only kiosk tokens: create, revoke, list (on the database; hutch may run).
    Apikey(super::accounts::ApikeyArgs),
    #[command(flatten)]
    Client(super::ClientCommand),
    /// Run as a worker process (started by `hutch serve` when an environment opens; not for
    /// interactive use). Speaks the protocol of docs/worker-protocol.md on stdin/stdout.
    #[command(hide = true)]
    Worker(WorkerArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub action: DbAction,
    /// Which database (the same settings as `hutch serve`).
    #[command(flatten)]
    pub settings: ServeArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum DbAction {
    /// Write a consistent copy of the database to PATH, also while hutch is running.
    Backup {
        /// Where the copy goes; must not exist yet.
        path: PathBuf,
    },
    /// Check the database's integrity; exits with status 1 if it finds a problem.
    Check,
    /// Delete old finished executions (history entries) with their runs and documents, and/or
    /// old audit-log entries. Items in the queue are never touched. Best run while hutch is
    /// stopped: a running hutch shows trimmed history items until it restarts.
    Trim {
        /// Keep only the newest N finished executions.
        #[arg(long, value_name = "N")]
        keep: Option<u64>,
        /// Delete finished executions older than this many days.
        #[arg(long, value_name = "DAYS")]
        older_than_days: Option<f64>,
        /// Delete audit-log entries older than this many days (hutch also does this by itself
        /// with its audit_keep_days setting).
        #[arg(long, value_name = "DAYS")]
        audit_older_than_days: Option<f64>,
        /// Keep only the newest N audit-log entries.
        #[arg(long, value_name = "N")]
        audit_keep: Option<u64>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Directory for large data the worker writes (image frames).
    #[arg(long, value_name = "DIR")]
    pub assets: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn serve_is_the_default_command_and_flags_parse() {
        let cli = Cli::try_parse_from(["hutch", "--bind", "127.0.0.1:1234"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.serve.bind.unwrap().to_string(), "127.0.0.1:1234");
        let cli = Cli::try_parse_from(["hutch", "serve", "--data-dir", "/x"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Serve(ref a)) if a.data_dir.as_deref() == Some(Path::new("/x")))
        );
        assert!(Cli::try_parse_from(["hutch", "--bind", "nonsense"]).is_err());
    }
}
