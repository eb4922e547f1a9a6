//! Applets: versions and optimistic concurrency, validation, live sync, experiment-created
//! applets under group policies, and the git-trackable mirror file.

mod common;

use common::*;
use serde_json::{json, Value};

fn line(name: &str, y: &str) -> Value {
    json!({"name": name, "group": "alignment", "kind": "line", "spec": {"latest_of_plan": "scan", "x": "motor", "y": [y]}})
}

async fn create(server: &TestServer, body: Value) -> Value {
    api_ok(server, "POST", "/api/applets", body).await["applet"].clone()
}

#[tokio::test]
async fn a_stale_edit_gets_409_with_the_current_version_and_overwrites_nothing() {
    let server = TestServer::start().await;
    let a = create(&server, line("peak", "det")).await;
    assert_eq!(a["version"], 1);
    let uid = a["uid"].as_str().unwrap();
    // Two editors opened version 1; the first saves.
    let mut first = line("peak", "det1");
    first["version"] = json!(1);
    let saved = api_ok(&server, "PUT", &format!("/api/applets/{uid}"), first).await;
    assert_eq!(saved["applet"]["version"], 2);
    // The second saves on top of version 1: refused, told what is there now.
    let mut second = line("peak", "det2");
    second["version"] = json!(1);
    let (code, reply) = api(&server, "PUT", &format!("/api/applets/{uid}"), second).await;
    assert_eq!(code, 409, "{reply}");
    assert!(
        reply["msg"]
            .as_str()
            .unwrap()
            .contains("you edited version 1, the current one is version 2"),
        "{reply}"
    );
    assert_eq!(reply["current"]["spec"]["y"], json!(["det1"]));
    let now = api_ok(&server, "GET", &format!("/api/applets/{uid}"), json!({})).await;
    assert_eq!(
        now["applet"]["spec"]["y"],
        json!(["det1"]),
        "the first editor's change stands"
    );

    // Every version is kept and any can be restored (as a new version).
    let versions = api_ok(
        &server,
        "GET",
        &format!("/api/applets/{uid}/versions"),
        json!({}),
    )
    .await;
    let numbers: Vec<i64> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    let restored = api_ok(
        &server,
        "POST",
        &format!("/api/applets/{uid}/restore"),
        json!({"version": 1}),
    )
    .await;
    assert_eq!(
        (
            restored["applet"]["version"].clone(),
            restored["applet"]["spec"]["y"].clone()
        ),
        (json!(3), json!(["det"]))
    );
    // Deleted applets come back by restore too.
    api_ok(
        &server,
        "DELETE",
        &format!("/api/applets/{uid}?version=3"),
        json!({}),
    )
    .await;
    let (code, _) = api(&server, "GET", &format!("/api/applets/{uid}"), json!({})).await;
    assert_eq!(code, 404);
    let back = api_ok(
        &server,
        "POST",
        &format!("/api/applets/{uid}/restore"),
        json!({"version": 2}),
    )
    .await;
    assert_eq!(
        (
            back["applet"]["version"].clone(),
            back["applet"]["spec"]["y"].clone()
        ),
        (json!(5), json!(["det1"]))
    );
}

#[tokio::test]
async fn invalid_applets_are_refused_with_the_bad_field_named() {
    let server = TestServer::start().await;
    let cases = [
        (
            json!({"name": "x", "kind": "line", "spec": {"latest": true, "y": []}}),
            422,
            "spec.y: must be a field name",
        ),
        (
            json!({"name": "x", "kind": "pie", "spec": {}}),
            422,
            "'kind' must be one of line, scatter",
        ),
        (
            json!({"name": "", "kind": "markdown", "spec": {"text": "a"}}),
            422,
            "'name' must be 1 to 200",
        ),
        (
            json!({"name": "x", "kind": "markdown", "spec": {"text": "a", "font": 3}}),
            422,
            "spec.font: unknown for a markdown applet",
        ),
        (
            json!({"name": "x", "kind": "markdown", "spec": {"text": "a"}, "size": 3}),
            400,
            "unknown key 'size'",
        ),
    ];
    for (body, status, want) in cases {
        let (code, reply) = api(&server, "POST", "/api/applets", body.clone()).await;
        assert_eq!(code, status, "{body}: {reply}");
        assert!(
            reply["msg"].as_str().unwrap().contains(want),
            "{body}: {reply}"
        );
    }
    create(&server, line("taken", "det")).await;
    let (code, reply) = api(&server, "POST", "/api/applets", line("taken", "det2")).await;
    assert_eq!(code, 409, "{reply}");
    let (code, reply) = api(
        &server,
        "PUT",
        "/api/applets/nope",
        json!({"version": 1, "name": "x", "kind": "markdown", "spec": {"text": "a"}}),
    )
    .await;
    assert_eq!(code, 404, "{reply}");
    assert_eq!(
        api_ok(&server, "GET", "/api/applets", json!({})).await["applets"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn every_connected_client_sees_a_change_at_once() {
    let server = TestServer::start().await;
    let (mut a, snap_a) = watching(&server, "applets").await;
    let (mut b, _) = watching(&server, "applets").await;
    assert_eq!(snap_a["applets"], json!([]));
    let created = create(&server, line("shared", "det")).await;
    for ws in [&mut a, &mut b] {
        let delta = next_update(ws, "applets", |d| d["op"] == "upsert").await;
        assert_eq!(delta["applet"], created);
    }
}

#[tokio::test]
async fn experiments_create_by_name_but_never_overwrite_a_person() {
    let server = TestServer::start().await;
    let spec =
        json!({"kind": "line", "spec": {"latest_of_plan": "scan", "y": ["det"]}, "plan": "scan"});
    let r = api_ok(
        &server,
        "PUT",
        "/api/applets/by_name/experiment/scan%20plot",
        spec.clone(),
    )
    .await;
    assert_eq!(r["result"]["outcome"], "created");
    assert_eq!(r["result"]["applet"]["updated_by"], "plan:scan");
    let uid = r["result"]["applet"]["uid"].as_str().unwrap().to_string();
    let again = api_ok(
        &server,
        "PUT",
        "/api/applets/by_name/experiment/scan%20plot",
        spec.clone(),
    )
    .await;
    assert_eq!(again["result"]["outcome"], "unchanged");
    // A person edits it; the experiment's next update leaves their edit alone.
    let mut edit = json!({"name": "scan plot", "group": "experiment", "kind": "line", "version": 1,
                          "spec": {"latest_of_plan": "scan", "y": ["det", "det1"]}});
    api_ok(&server, "PUT", &format!("/api/applets/{uid}"), edit.take()).await;
    let mut newer = spec.clone();
    newer["spec"]["y"] = json!(["det2"]);
    let kept = api_ok(
        &server,
        "PUT",
        "/api/applets/by_name/experiment/scan%20plot",
        newer,
    )
    .await;
    assert_eq!(kept["result"]["outcome"], "kept", "{kept}");
    let now = api_ok(&server, "GET", &format!("/api/applets/{uid}"), json!({})).await;
    assert_eq!(now["applet"]["spec"]["y"], json!(["det", "det1"]));
    // Group policies: ignore creates nothing; create_enable asks dashboards to show it.
    api_ok(
        &server,
        "PUT",
        "/api/applets/groups/quiet",
        json!({"policy": "ignore"}),
    )
    .await;
    let ignored = api_ok(&server, "PUT", "/api/applets/by_name/quiet/x", spec.clone()).await;
    assert_eq!(ignored["result"]["outcome"], "ignored");
    api_ok(
        &server,
        "PUT",
        "/api/applets/groups/loud",
        json!({"policy": "create_enable"}),
    )
    .await;
    let shown = api_ok(&server, "PUT", "/api/applets/by_name/loud/x", spec).await;
    assert_eq!(shown["result"]["applet"]["auto_enable"], true);
}

#[tokio::test]
async fn the_mirror_file_follows_every_change_and_round_trips() {
    let server = TestServer::start().await;
    let a = create(&server, line("round trip", "det")).await;
    let mirror = server.dir.path().join("applets.json");
    let text = wait_file(&mirror, |t| t.contains("round trip")).await;
    let exported = api_raw(&server, "GET", "/api/applets/export", "").await.1;
    assert_eq!(
        String::from_utf8(exported).unwrap(),
        text,
        "the file is the export"
    );
    assert!(
        text.contains("\n  \"applets\": ["),
        "pretty-printed:\n{text}"
    );
    // Importing the export changes nothing; importing nonsense is refused.
    let (code, reply) = api_raw(&server, "POST", "/api/applets/import", &text).await;
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&reply));
    let (code, _) = api_raw(&server, "POST", "/api/applets/import", "").await;
    assert_eq!(code, 422);
    let now = api_ok(
        &server,
        "GET",
        &format!("/api/applets/{}", a["uid"].as_str().unwrap()),
        json!({}),
    )
    .await;
    assert_eq!(now["applet"]["version"], 1);
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

#[tokio::test]
async fn a_git_checkout_of_an_old_mirror_restores_the_old_applet() {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path().to_path_buf();
    let server = TestServer::start_with(|c| c.mirror_dir = dir.clone()).await;
    let mirror = repo.path().join("applets.json");
    git(repo.path(), &["init", "-q"]);
    let a = create(&server, line("tracked", "det")).await;
    let uid = a["uid"].as_str().unwrap().to_string();
    wait_file(&mirror, |t| t.contains("tracked")).await;
    git(repo.path(), &["add", "applets.json"]);
    git(repo.path(), &["commit", "-qm", "v1"]);
    let mut edit = line("tracked", "det2");
    edit["version"] = json!(1);
    api_ok(&server, "PUT", &format!("/api/applets/{uid}"), edit).await;
    wait_file(&mirror, |t| t.contains("det2")).await;
    git(repo.path(), &["commit", "-qam", "v2"]);

    let (mut ws, _) = watching(&server, "applets").await;
    git(
        repo.path(),
        &["checkout", "-q", "HEAD~1", "--", "applets.json"],
    );
    let delta = next_update(&mut ws, "applets", |d| d["op"] == "replace").await;
    let back = &delta["applets"][0];
    assert_eq!(back["spec"]["y"], json!(["det"]), "the old applet is back");
    assert_eq!(back["version"], 3, "as a new version; nothing is rewritten");
    assert!(back["updated_by"].as_str().unwrap().starts_with("file:"));
    // hutch then writes the file anew (version 3), so git shows what changed.
    wait_file(&mirror, |t| t.contains("\"version\": 3")).await;
}

#[tokio::test]
async fn conflicting_and_broken_mirror_files_lose_nothing() {
    let server = TestServer::start().await;
    let a = create(&server, line("contested", "det")).await;
    let uid = a["uid"].as_str().unwrap().to_string();
    let mirror = server.dir.path().join("applets.json");
    let v1 = wait_file(&mirror, |t| t.contains("contested")).await;
    let mut edit = line("contested", "det1");
    edit["version"] = json!(1);
    api_ok(&server, "PUT", &format!("/api/applets/{uid}"), edit).await;
    // Someone edits the old version 1 by hand: both sides changed since version 1.
    let (mut console, _) = watching(&server, "console").await;
    wait_file(&mirror, |t| t.contains("det1")).await;
    std::fs::write(&mirror, v1.replace("\"det\"", "\"det9\"")).unwrap();
    let line = next_update(&mut console, "console", |l| {
        l["msg"].as_str().unwrap().contains("conflict")
    })
    .await;
    assert!(
        line["msg"].as_str().unwrap().contains("1 conflicts"),
        "{line}"
    );
    let conflicts = api_ok(&server, "GET", "/api/applets/conflicts", json!({})).await;
    assert_eq!(
        conflicts["conflicts"][0]["content"]["spec"]["y"],
        json!(["det9"]),
        "the file's side is kept"
    );
    let now = api_ok(&server, "GET", &format!("/api/applets/{uid}"), json!({})).await;
    assert_eq!(
        now["applet"]["spec"]["y"],
        json!(["det1"]),
        "the database's side is kept"
    );

    std::fs::write(&mirror, "[not json").unwrap();
    let line = next_update(&mut console, "console", |l| {
        l["msg"].as_str().unwrap().contains("not imported")
    })
    .await;
    assert!(
        line["msg"].as_str().unwrap().contains("not valid JSON"),
        "{line}"
    );
    let now = api_ok(&server, "GET", "/api/applets", json!({})).await;
    assert_eq!(
        now["applets"].as_array().unwrap().len(),
        1,
        "the database is untouched"
    );
    assert!(mirror.with_extension("json.rejected").exists());
}

#[tokio::test]
async fn an_import_that_cannot_apply_whole_changes_nothing_and_one_that_can_is_one_change() {
    let server = TestServer::start().await;
    let one = create(&server, line("one", "det")).await;
    create(&server, line("two", "det")).await;
    create(&server, line("three", "det")).await;
    let (code, text) = api_raw(&server, "GET", "/api/applets/export", "").await;
    assert_eq!(code, 200);
    let mut file: Value = serde_json::from_slice(&text).unwrap();
    // Drop "three", and swap the names of "one" and "two": the first rename meets a name still
    // held, so the import must refuse — after deleting "three" if it were not one transaction.
    let applets = file["applets"].as_array_mut().unwrap();
    applets.retain(|a| a["name"] != "three");
    for a in applets.iter_mut() {
        a["name"] = json!(if a["name"] == "one" { "two" } else { "one" });
    }
    let (code, reply) = api_raw(&server, "POST", "/api/applets/import", &file.to_string()).await;
    let reply: Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(code, 409, "{reply}");
    assert!(
        reply["msg"]
            .as_str()
            .unwrap()
            .contains("nothing was imported"),
        "{reply}"
    );
    let now = api_ok(&server, "GET", "/api/applets", json!({})).await;
    let mut names: Vec<&str> = now["applets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["one", "three", "two"],
        "nothing was deleted or renamed"
    );

    // A file that can apply: "three" deleted, "one" edited — every tab gets it as one delta.
    let (mut applets_topic, _) = watching(&server, "applets").await;
    let applets = file["applets"].as_array_mut().unwrap();
    for a in applets.iter_mut() {
        a["name"] = json!(if a["uid"] == one["uid"] { "one" } else { "two" });
        if a["uid"] == one["uid"] {
            a["spec"]["y"] = json!(["det2"]);
        }
    }
    let reply = api_ok(&server, "POST", "/api/applets/import", file).await;
    assert_eq!(
        reply["report"]["deleted"].as_array().unwrap().len(),
        1,
        "{reply}"
    );
    assert_eq!(reply["report"]["updated"], json!([one["uid"]]), "{reply}");
    let delta = next_update(&mut applets_topic, "applets", |d| d["op"] == "replace").await;
    let names: Vec<&str> = delta["applets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{delta}");
    assert!(names.contains(&"one") && names.contains(&"two"), "{delta}");
}
