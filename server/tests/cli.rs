//! The `hutch` binary as a user runs it: help, settings precedence, clear start-up errors,
//! graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn hutch() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hutch"));
    // Isolate from the developer's own settings.
    for var in [
        "HUTCH_BIND",
        "HUTCH_DATA_DIR",
        "HUTCH_DATABASE",
        "HUTCH_SITE_DIR",
        "XDG_CONFIG_HOME",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HUTCH_CONFIG", "/dev/null");
    cmd
}

#[test]
fn help_explains_every_setting_and_its_variable() {
    let out = hutch().args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--bind",
        "HUTCH_BIND",
        "60610",
        "--data-dir",
        "HUTCH_DATA_DIR",
        ".local/share/hutch",
        "--database",
        "--config",
        "hutch.toml",
    ] {
        assert!(
            help.contains(needle),
            "serve --help mentions {needle}:\n{help}"
        );
    }
    let out = hutch().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("RUST_LOG") && help.contains("serve"),
        "{help}"
    );
}

#[test]
fn flags_beat_environment_beats_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hutch.toml");
    std::fs::write(
        &file,
        "bind = \"127.0.0.1:7001\"\ndata_dir = \"/from/file\"\ndatabase = \"/from/file/x.db\"\n",
    )
    .unwrap();
    let out = hutch()
        .args(["config", "--data-dir", "/from/flag"])
        .env("HUTCH_CONFIG", &file)
        .env("HUTCH_BIND", "127.0.0.1:7002")
        .env("HUTCH_DATA_DIR", "/from/env")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("bind = \"127.0.0.1:7002\""),
        "env beats file:\n{text}"
    );
    assert!(
        text.contains("data_dir = \"/from/flag\""),
        "flag beats env:\n{text}"
    );
    assert!(
        text.contains("database = \"/from/file/x.db\""),
        "file beats default:\n{text}"
    );
}

#[test]
fn an_unusable_data_dir_is_one_clear_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = hutch()
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(file.join("sub"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("hutch: cannot use the data directory"),
        "{err}"
    );
    assert!(last.contains("--data-dir"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_foreign_database_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hutch.db");
    std::fs::write(
        &db,
        "not a database at all, and long enough to look like a file header...",
    )
    .unwrap();
    let before = std::fs::read(&db).unwrap();
    let out = hutch()
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("is not a hutch database"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = hutch()
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    // Wait for the "serving" log line, which comes after migrations and the bind.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = String::new();
    loop {
        assert!(Instant::now() < deadline, "hutch did not start:\n{seen}");
        let line = lines.next().expect("hutch is still running").unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("serving the dashboard") {
            break;
        }
    }
    assert!(
        dir.path().join("hutch.db").exists(),
        "the database is created in the data dir"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let code = child.wait().unwrap();
    assert!(
        code.success(),
        "exit {code:?}; log:\n{seen}{}",
        rest.join("\n")
    );
    assert!(rest.iter().any(|l| l.contains("hutch stopped")), "{rest:?}");
}

/// `hutch user …` / `hutch apikey …` with the password on standard input.
fn account_cmd(dir: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = hutch()
        .args(args)
        .args(["--data-dir", dir.to_str().unwrap(), "--auth", "multi"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn users_and_keys_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, out, err) = account_cmd(
        d,
        &["user", "add", "ann", "--role", "operator"],
        "password-1\n",
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "added ann (operator, group primary)");
    let (ok, _, err) = account_cmd(d, &["user", "add", "ann"], "password-1\n");
    assert!(!ok && err.contains("already a user 'ann'"), "{err}");
    let (ok, _, err) = account_cmd(d, &["user", "add", "bob"], "short\n");
    assert!(!ok && err.contains("at least 8 characters"), "{err}");
    let (ok, _, err) = account_cmd(
        d,
        &["user", "add", "cy", "--role", "wizard"],
        "password-1\n",
    );
    assert!(!ok && err.contains("unknown role 'wizard'"), "{err}");
    let (_, out, _) = account_cmd(d, &["user", "list"], "");
    assert!(
        out.contains("ann") && out.contains("operator") && !out.contains("bob"),
        "{out}"
    );
    let (ok, _, err) = account_cmd(d, &["user", "passwd", "ann"], "password-2\n");
    assert!(ok, "{err}");

    let (ok, key, err) = account_cmd(
        d,
        &[
            "apikey",
            "create",
            "--user",
            "ann",
            "--scopes",
            "read:status,read:queue",
        ],
        "",
    );
    assert!(ok, "{err}");
    let key = key.trim().to_string();
    assert_eq!(key.len(), 64, "{key}");
    let (ok, _, err) = account_cmd(
        d,
        &["apikey", "create", "--user", "ann", "--scopes", "admin"],
        "",
    );
    assert!(!ok && err.contains("owner does not have it"), "{err}");
    let (ok, kiosk, err) = account_cmd(d, &["apikey", "create", "--kiosk", "--note", "hall"], "");
    assert!(ok && err.contains("/kiosk?dashboard="), "{err}");
    let (_, list, _) = account_cmd(d, &["apikey", "list"], "");
    assert!(
        list.contains(&key[..8]) && list.contains(&kiosk.trim()[..8]) && list.contains("hall"),
        "{list}"
    );
    assert!(!list.contains(&key), "keys are never listed");
    let (ok, out, err) = account_cmd(d, &["apikey", "revoke", &key[..8]], "");
    assert!(ok && out.contains("revoked 1"), "{out}{err}");

    let (pool, _) = hutch_server::db::open(&d.join("hutch.db")).await.unwrap();
    let store = hutch_server::auth::store::Store::new(pool.clone());
    assert!(store
        .check_login("ann", "password-2")
        .await
        .unwrap()
        .is_some());
    assert!(store
        .check_login("ann", "password-1")
        .await
        .unwrap()
        .is_none());
    assert!(store.lookup_key(&key).await.unwrap().unwrap().revoked);
    let audit = hutch_server::auth::audit::list(&pool, None, None, 50)
        .await
        .unwrap();
    let actions: Vec<&str> = audit
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "cli user add",
        "cli user passwd",
        "cli apikey create",
        "cli apikey revoke",
    ] {
        assert!(actions.contains(&a), "{actions:?}");
    }
}
