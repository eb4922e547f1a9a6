//! The client commands' arguments, in the friendly form of bluesky's `qserver` tool.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// How to reach the server; accepted after any client command.
#[derive(Debug, Clone, Default, Args)]
pub struct Conn {
    /// hutch's address. [default: http:// + the `bind` of the local settings, i.e.
    /// http://127.0.0.1:60610]
    #[arg(long, global = true, env = "HUTCH_URL", value_name = "URL")]
    pub url: Option<String>,
    /// The API key. Prefer the HUTCH_API_KEY variable: a flag is visible in `ps`.
    /// [default: the key in DATA_DIR/api_key of the local settings]
    #[arg(
        long,
        global = true,
        env = "HUTCH_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,
    /// A PEM certificate to trust for https:// besides the system's authorities (a self-signed
    /// hutch's own --tls-cert). [default: the local settings' tls_cert]
    #[arg(long, global = true, env = "HUTCH_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Print the server's JSON instead of tables (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Show the manager's status: states, queue and history sizes, environment, lock.
    Status {
        #[command(flatten)]
        conn: Conn,
    },
    /// Check that hutch answers (and that the key is right).
    Ping {
        #[command(flatten)]
        conn: Conn,
    },
    /// Open, close or destroy the worker environment.
    Environment {
        #[command(subcommand)]
        action: EnvironmentAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// Show and edit the plan queue; start and stop it.
    Queue {
        #[command(subcommand)]
        action: QueueAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// Control the running plan: pause, resume, stop, abort, halt.
    Re {
        #[command(subcommand)]
        action: ReAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// Show or clear the history of executed plans.
    History {
        #[command(subcommand)]
        action: HistoryAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// List the plans or devices users may use, with their parameters.
    Allowed {
        what: AllowedWhat,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lock the environment and/or the queue so that only holders of KEY change them.
    Lock {
        /// What to lock.
        #[arg(value_enum, default_value = "all")]
        scope: LockScope,
        /// The lock key; keep it to unlock.
        #[arg(long)]
        key: String,
        /// Why, shown to others.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Remove the lock (KEY is the lock key, or the emergency key).
    Unlock {
        #[arg(long)]
        key: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// List applets; export or import the applets file (the applets.json mirror format).
    Applets {
        #[command(subcommand)]
        action: AppletsAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// Read and set datasets (named values that plans set and applets show).
    Datasets {
        #[command(subcommand)]
        action: DatasetsAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// List runs, show one, export its documents.
    Runs {
        #[command(subcommand)]
        action: RunsAction,
        #[command(flatten)]
        conn: Conn,
    },
    /// Add the plans of a spreadsheet (CSV) to the queue, all or none.
    Upload {
        #[command(subcommand)]
        what: UploadWhat,
        #[command(flatten)]
        conn: Conn,
    },
    /// Follow the status and the console live, until Ctrl-C.
    Monitor {
        #[command(flatten)]
        conn: Conn,
    },
    /// Wait until the manager is idle, with a progress bar of the running plan.
    Wait {
        #[command(subcommand)]
        what: WaitWhat,
        #[command(flatten)]
        conn: Conn,
    },
}

impl ClientCommand {
    pub fn conn(&self) -> &Conn {
        use ClientCommand::*;
        match self {
            Status { conn } | Ping { conn } | Monitor { conn } => conn,
            Environment { conn, .. }
            | Queue { conn, .. }
            | Re { conn, .. }
            | History { conn, .. } => conn,
            Allowed { conn, .. }
            | Lock { conn, .. }
            | Unlock { conn, .. }
            | Applets { conn, .. } => conn,
            Datasets { conn, .. } | Runs { conn, .. } | Upload { conn, .. } | Wait { conn, .. } => {
                conn
            }
        }
    }
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum EnvironmentAction {
    /// Start the worker and open the environment (devices, plans).
    Open,
    /// Close the environment when no plan runs.
    Close,
    /// Kill the worker (if it hangs); a running plan is lost.
    Destroy,
}

#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// Show the queue and the running plan.
    Get,
    /// Remove every plan from the queue.
    Clear,
    /// Add a plan or an instruction: `queue add plan [WHERE] '<json>'`.
    Add {
        #[command(subcommand)]
        what: AddWhat,
    },
    /// Work on one item: get, remove, move, update.
    Item {
        #[command(subcommand)]
        action: ItemAction,
    },
    /// Start executing the queue.
    Start,
    /// Stop the queue after the running plan; `queue stop cancel` takes the request back.
    Stop {
        #[arg(value_parser = ["cancel"])]
        cancel: Option<String>,
    },
    /// Change the queue mode: `queue mode set loop true`, `queue mode set ignore_failures false`.
    Mode {
        #[command(subcommand)]
        action: ModeAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModeAction {
    /// Set one mode key (loop, ignore_failures) to true or false.
    Set {
        key: String,
        #[arg(action = clap::ArgAction::Set)]
        value: bool,
    },
}

/// WHERE is empty (the back), `front`, `back`, an index N (negative from the back),
/// `before UID` or `after UID`; ITEM is JSON.
#[derive(Debug, Subcommand)]
pub enum AddWhat {
    /// A plan: `queue add plan front '{"name": "count", "args": [["det1"]], "kwargs": {"num": 3}}'`.
    Plan {
        #[arg(value_name = "[WHERE] PLAN", num_args = 1..=3, required = true)]
        words: Vec<String>,
    },
    /// An instruction: `queue add instruction queue_stop` (or its JSON).
    Instruction {
        #[arg(value_name = "[WHERE] INSTRUCTION", num_args = 1..=3, required = true)]
        words: Vec<String>,
    },
}

/// An item is named by its place (`front`, `back`, N) or its uid.
#[derive(Debug, Subcommand)]
pub enum ItemAction {
    /// Show one item (default: the back of the queue).
    Get { at: Option<String> },
    /// Remove one item (default: the back of the queue).
    Remove { at: Option<String> },
    /// Move an item: `queue item move 3 front`, `queue item move UID after OTHER_UID`.
    Move {
        from: String,
        #[arg(value_name = "TO", num_args = 1..=2, required = true)]
        to: Vec<String>,
    },
    /// Replace an item's plan: `queue item update UID '<json>'` (keeps its uid; --replace gives
    /// it a new one).
    Update {
        uid: String,
        item: String,
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum ReAction {
    /// Pause the running plan: at the next checkpoint (deferred, default) or now (immediate).
    Pause {
        #[arg(value_enum, default_value = "deferred")]
        when: PauseWhen,
    },
    /// Continue a paused plan.
    Resume,
    /// End a paused plan as a success.
    Stop,
    /// End a paused plan as aborted.
    Abort,
    /// End a paused plan at once, without cleanup.
    Halt,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PauseWhen {
    Deferred,
    Immediate,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum HistoryAction {
    /// Show the executed plans, newest last, with their outcome.
    Get,
    /// Empty the history (the dispatch database keeps every record).
    Clear,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AllowedWhat {
    Plans,
    Devices,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LockScope {
    Environment,
    Queue,
    All,
}

#[derive(Debug, Subcommand)]
pub enum AppletsAction {
    /// List the applets.
    List,
    /// Write every applet (applets.json format) to FILE, or to standard output.
    Export { file: Option<PathBuf> },
    /// Import an applets file: new and changed applets are saved, missing ones deleted
    /// (their versions are kept); conflicts are reported.
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum DatasetsAction {
    /// Show one dataset.
    Get { key: String },
    /// Set a dataset; VALUE is JSON (1.5, true, [1, 2], "text") or else taken as text.
    Set {
        key: String,
        value: String,
        /// Keep it across restarts (and in datasets.json).
        #[arg(long)]
        persist: bool,
        #[arg(long)]
        unit: Option<String>,
    },
    /// List datasets, optionally those whose key starts with PREFIX.
    List { prefix: Option<String> },
}

#[derive(Debug, Subcommand)]
pub enum RunsAction {
    /// The newest runs.
    List {
        #[arg(long)]
        plan: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One run: its plan, times, exit status and streams.
    Show { uid: String },
    /// Every document of a run as bluesky `[name, doc]` JSON lines, to FILE or standard output.
    Export { uid: String, file: Option<PathBuf> },
}

#[derive(Debug, Subcommand)]
pub enum UploadWhat {
    /// A CSV file, one plan per row: a `name` column (the plan), optional `args` (a JSON list),
    /// every other column a keyword argument (JSON values, or text); empty cells are left out.
    Spreadsheet {
        file: PathBuf,
        /// Where the plans go: empty (the back), front, back, N, before UID, after UID.
        #[arg(value_name = "WHERE", num_args = 0..=2)]
        place: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum WaitWhat {
    /// Until the manager is idle (the queue finished or stopped).
    Idle {
        /// Give up after this many seconds (exit code 5).
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<f64>,
    },
}
