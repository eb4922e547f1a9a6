//! The `hutch` client commands against a real `hutch serve` process: every subcommand, its
//! output, and its exit code.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

struct Cli {
    url: String,
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Cli {
    fn new(p: &Process) -> Cli {
        Cli {
            url: format!("http://{}", p.addr),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_hutch"));
        c.args(args)
            .env("HUTCH_URL", &self.url)
            .env("HUTCH_API_KEY", KEY)
            .env("HUTCH_CONFIG", "/dev/null")
            .env_remove("HUTCH_DATA_DIR");
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        let o = self.command(args).output().expect("hutch runs");
        Run {
            code: o.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&o.stdout).into(),
            err: String::from_utf8_lossy(&o.stderr).into(),
        }
    }

    /// Runs a command that must succeed; returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(r.code, 0, "hutch {args:?} failed: {}{}", r.out, r.err);
        r.out
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).expect("--json prints JSON")
    }

    /// A command that must fail with `code`; returns its message.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let r = self.run(args);
        assert_eq!(r.code, code, "hutch {args:?}: {}{}", r.out, r.err);
        r.err
    }
}

fn open_environment(cli: &Cli) {
    cli.ok(&["environment", "open"]);
    cli.ok(&["wait", "idle", "--timeout", "20"]);
    assert_eq!(cli.json(&["status"])["worker_environment_exists"], true);
}

#[tokio::test]
async fn the_queue_is_edited_run_and_read_back_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(dir.path());
    let cli = Cli::new(&server);
    assert!(cli.ok(&["ping"]).contains("answers: manager idle"));
    assert!(cli
        .ok(&["status"])
        .contains("environment open        false"));
    open_environment(&cli);
    assert!(cli.ok(&["allowed", "plans"]).contains("scan"));
    assert!(cli.ok(&["allowed", "devices"]).contains("motor"));

    let scan = r#"{"name": "scan", "args": [["det"], "motor", -1, 1, 7]}"#;
    assert!(cli
        .ok(&["queue", "add", "plan", scan])
        .contains("added scan(['det'], 'motor', -1, 1, 7)"));
    cli.ok(&[
        "queue",
        "add",
        "plan",
        "front",
        r#"{"name": "count", "args": [["det1"]], "kwargs": {"num": 2}}"#,
    ]);
    cli.ok(&["queue", "add", "instruction", "1", "queue_stop"]);
    let q = cli.json(&["queue", "get"]);
    let names: Vec<&str> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["count", "queue_stop", "scan"]);
    let table = cli.ok(&["queue", "get"]);
    assert!(table.starts_with("#  PLAN"), "{table}");
    assert!(table.contains("1  queue_stop (instruction)"), "{table}");

    let stop_uid = q["items"][1]["item_uid"].as_str().unwrap().to_string();
    let scan_uid = q["items"][2]["item_uid"].as_str().unwrap().to_string();
    cli.ok(&["queue", "item", "move", &stop_uid, "after", &scan_uid]);
    assert_eq!(
        cli.json(&["queue", "item", "get", "back"])["item"]["name"],
        "queue_stop"
    );
    assert_eq!(
        cli.json(&["queue", "item", "get", &scan_uid])["item"]["name"],
        "scan"
    );
    cli.ok(&[
        "queue",
        "item",
        "update",
        &scan_uid,
        r#"{"name": "scan", "args": [["det"], "motor", -1, 1, 5]}"#,
    ]);
    assert_eq!(
        cli.json(&["queue", "item", "get", &scan_uid])["item"]["args"][4],
        5
    );
    assert!(cli
        .ok(&["queue", "item", "remove", "back"])
        .contains("removed queue_stop"));
    cli.ok(&["queue", "mode", "set", "ignore_failures", "true"]);
    assert_eq!(
        cli.json(&["status"])["plan_queue_mode"]["ignore_failures"],
        true
    );

    cli.ok(&["queue", "start"]);
    cli.ok(&["wait", "idle", "--timeout", "30"]);
    let history = cli.ok(&["history", "get"]);
    assert_eq!(history.matches("completed").count(), 2, "{history}");
    let runs = cli.json(&["runs", "list", "--limit", "5"]);
    let run = runs["runs"][0]["uid"].as_str().unwrap().to_string();
    assert_eq!(runs["runs"][0]["plan_name"], "scan");
    assert!(cli
        .ok(&["runs", "list", "--plan", "count"])
        .contains("count"));
    assert!(cli
        .ok(&["runs", "show", &run])
        .contains("primary (3 fields, 5 events)"));
    let exported = cli.ok(&["runs", "export", &run]);
    assert_eq!(
        exported.lines().count(),
        8,
        "start, descriptor, 5 events, stop:\n{exported}"
    );
    assert!(exported.starts_with("[\"start\","));

    assert!(cli
        .ok(&["datasets", "list", "peak."])
        .contains("peak.det.motor"));
    cli.ok(&["datasets", "set", "sample.name", "\"Si 111\"", "--persist"]);
    cli.ok(&[
        "datasets",
        "set",
        "sample.temperature",
        "295.5",
        "--unit",
        "K",
    ]);
    assert!(cli
        .ok(&["datasets", "get", "sample.temperature"])
        .starts_with("sample.temperature = 295.5 K"));
    assert_eq!(
        cli.json(&["datasets", "get", "sample.name"])["dataset"]["value"],
        "Si 111"
    );

    cli.ok(&["history", "clear"]);
    assert_eq!(cli.json(&["status"])["items_in_history"], 0);
    cli.ok(&["queue", "add", "plan", scan]);
    cli.ok(&["queue", "clear"]);
    assert!(cli.ok(&["queue", "get"]).contains("the queue is empty"));
    cli.ok(&["environment", "close"]);
    cli.ok(&["wait", "idle", "--timeout", "20"]);
}

#[tokio::test]
async fn plans_are_paused_resumed_and_aborted_and_the_queue_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(dir.path());
    let cli = Cli::new(&server);
    open_environment(&cli);
    let slow = r#"{"name": "count", "args": [["det1"]], "kwargs": {"num": 200, "delay": 0.05}}"#;
    cli.ok(&["queue", "add", "plan", slow]);
    cli.ok(&["queue", "add", "plan", slow]);
    cli.ok(&["queue", "start"]);
    // wait idle gives up when told to (exit 5) while the plan runs.
    assert!(cli
        .fails(&["wait", "idle", "--timeout", "0.3"], 5)
        .contains("not idle after 0.3 s"));
    cli.ok(&["queue", "stop"]);
    assert_eq!(cli.json(&["status"])["queue_stop_pending"], true);
    cli.ok(&["queue", "stop", "cancel"]);
    assert_eq!(cli.json(&["status"])["queue_stop_pending"], false);
    cli.ok(&["re", "pause", "immediate"]);
    wait_process_status(server.addr, |s| s["manager_state"] == "paused").await;
    cli.ok(&["re", "resume"]);
    wait_process_status(server.addr, |s| {
        s["manager_state"] == "executing_queue" && s["re_state"] == "running"
    })
    .await;
    cli.ok(&["re", "pause"]);
    wait_process_status(server.addr, |s| s["manager_state"] == "paused").await;
    cli.ok(&["re", "abort"]);
    cli.ok(&["wait", "idle", "--timeout", "20"]);
    let history = cli.json(&["history", "get"]);
    assert_eq!(history["items"][0]["result"]["exit_status"], "aborted");
    // An aborted plan goes back to the front; run it and halt the next one.
    cli.ok(&["queue", "start"]);
    cli.ok(&["re", "pause", "immediate"]);
    wait_process_status(server.addr, |s| s["manager_state"] == "paused").await;
    cli.ok(&["re", "halt"]);
    cli.ok(&["wait", "idle", "--timeout", "20"]);
    cli.ok(&["queue", "start"]);
    cli.ok(&["re", "pause", "immediate"]);
    wait_process_status(server.addr, |s| s["manager_state"] == "paused").await;
    cli.ok(&["re", "stop"]);
    cli.ok(&["wait", "idle", "--timeout", "20"]);
    let exits: Vec<String> = cli.json(&["history", "get"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["result"]["exit_status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(exits, ["aborted", "halted", "stopped"]);
}

#[tokio::test]
async fn locks_spreadsheets_applets_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(dir.path());
    let cli = Cli::new(&server);
    cli.ok(&["lock", "queue", "--key", "sekrit", "--note", "aligning"]);
    let refused = cli.fails(&["queue", "clear"], 1);
    assert!(refused.contains("Queue is locked:       True"), "{refused}");
    cli.ok(&["unlock", "--key", "sekrit"]);
    cli.ok(&["queue", "clear"]);

    let csv = dir.path().join("plans.csv");
    std::fs::write(
        &csv,
        "name,args,num\ncount,\"[[\"\"det1\"\"]]\",2\ncount,\"[[\"\"nodet\"\"]]\",2\n",
    )
    .unwrap();
    let err = cli.fails(&["upload", "spreadsheet", csv.to_str().unwrap()], 1);
    assert!(
        err.contains("nothing was added") && err.contains("row 3:") && err.contains("nodet"),
        "{err}"
    );
    std::fs::write(&csv, "name,args,num\ncount,\"[[\"\"det1\"\"]]\",2\n,[],\n").unwrap();
    assert!(cli
        .fails(&["upload", "spreadsheet", csv.to_str().unwrap()], 2)
        .contains("row 3: the 'name' cell is empty"));
    std::fs::write(&csv, "name,args,num\ncount,\"[[\"\"det1\"\"]]\",2\nscan,\"[[\"\"det\"\"], \"\"motor\"\", 0, 1, 3]\",\n").unwrap();
    assert!(cli
        .ok(&["upload", "spreadsheet", csv.to_str().unwrap()])
        .contains("added 2 plans"));
    assert_eq!(cli.json(&["queue", "get"])["items"][1]["kwargs"], json!({}));

    let md = r#"{"name": "notes", "kind": "markdown", "spec": {"text": "hello"}}"#;
    http(
        server.addr,
        "POST",
        "/api/applets",
        serde_json::from_str(md).unwrap(),
    )
    .await;
    assert!(cli.ok(&["applets", "list"]).contains("notes"));
    let file = dir.path().join("applets-export.json");
    cli.ok(&["applets", "export", file.to_str().unwrap()]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"hello\""));
    std::fs::write(&file, text.replace("\"hello\"", "\"hello again\"")).unwrap();
    assert!(cli
        .ok(&["applets", "import", file.to_str().unwrap()])
        .starts_with("0 created, 1 updated"));
    assert!(
        cli.ok(&["applets", "export"]).contains("hello again"),
        "export to standard output"
    );
    std::fs::write(&file, "{broken").unwrap();
    assert!(cli
        .fails(&["applets", "import", file.to_str().unwrap()], 1)
        .contains("not valid JSON"));

    // Exit codes: bad JSON 2, unknown dataset 1, wrong key 4, nobody there 3.
    assert!(cli
        .fails(&["queue", "add", "plan", "{name: count}"], 2)
        .contains("not valid JSON"));
    assert!(cli
        .fails(&["queue", "add", "plan", "sideways", "{}"], 2)
        .contains("front, back"));
    assert!(cli
        .fails(&["datasets", "get", "none"], 1)
        .contains("no dataset 'none'"));
    let wrong_key = cli
        .command(&["status"])
        .env("HUTCH_API_KEY", "wrong")
        .output()
        .unwrap();
    assert_eq!(wrong_key.status.code(), Some(4));
    let nobody = cli
        .command(&["status"])
        .env("HUTCH_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(nobody.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("is it running?"));
}

#[tokio::test]
async fn monitor_shows_status_changes_and_console_lines_as_they_happen() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::start(dir.path());
    let cli = Cli::new(&server);
    let mut child = cli
        .command(&["monitor"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_line = |want: &str| loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no line with '{want}'"));
        if line.contains(want) {
            return line;
        }
    };
    wait_line("[status] manager idle");
    cli.ok(&["environment", "open"]);
    wait_line("environment open");
    wait_line("RE Worker environment 'sim' is open");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_help_is_a_manual() {
    let out = Command::new(env!("CARGO_BIN_EXE_hutch"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for command in [
        "status",
        "environment",
        "queue",
        "re",
        "history",
        "allowed",
        "lock",
        "unlock",
        "applets",
        "datasets",
        "runs",
        "upload",
        "monitor",
        "wait",
        "Exit codes",
    ] {
        assert!(help.contains(command), "--help mentions {command}");
    }
    let queue = Command::new(env!("CARGO_BIN_EXE_hutch"))
        .args(["queue", "item", "move", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&queue.stdout).contains("after OTHER_UID"));
}
