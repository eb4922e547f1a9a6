//! The `applets.json` mirror: its text, and importing it (at start, when the file changes on
//! disk, and for `hutch applets import`).
//!
//! Import rules, per applet of the file (matched by uid):
//! - not in the database: created (a deleted applet comes back under its uid);
//! - same content as the database: nothing;
//! - the file has the database's current version, edited: saved as a new version;
//! - the file has an older version exactly as it was saved (a `git checkout` of an older
//!   mirror): that version is restored, as a new version;
//! - the file has an older version that was edited: a **conflict** — both sides changed since
//!   that version. The database keeps its side; the file's side is saved in `mirror_conflicts`
//!   and reported, so neither is lost;
//! - applets in the database but not in the file are deleted (their versions stay, restorable).
//!
//! Every change is recorded as made by the file (`file:<path>`). A file that is not valid JSON or
//! holds an invalid applet changes nothing: the whole import is refused with the reason.

use std::collections::{BTreeMap, HashSet};

use hutch_app::model::applets::{validate_name, Applet, AppletDelta, AppletKind, GroupPolicy};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{Sqlite, Transaction};

use super::{applet, now, write, AppletError, Applets, Content, Row, COLUMNS};

/// The mirror's text: group policies and applets ordered by group, name and uid.
pub fn mirror_text(applets: &[Applet], groups: &BTreeMap<String, GroupPolicy>) -> String {
    let mut sorted: Vec<&Applet> = applets.iter().collect();
    sorted.sort_by(|a, b| (&a.group, &a.name, &a.uid).cmp(&(&b.group, &b.name, &b.uid)));
    crate::mirror::pretty(&json!({"hutch_applets": 1, "groups": groups, "applets": sorted}))
}

/// One applet as the file has it.
#[derive(Clone, Debug)]
pub struct FileApplet {
    pub uid: Option<String>,
    pub version: Option<i64>,
    pub content: Content,
}

#[derive(Debug)]
pub struct MirrorFile {
    pub groups: BTreeMap<String, GroupPolicy>,
    pub applets: Vec<FileApplet>,
}

/// Reads and validates a mirror file; the error names the applet and the problem.
pub fn parse(text: &str) -> Result<MirrorFile, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    if v["hutch_applets"] != json!(1) {
        return Err("not a hutch applets file: it needs \"hutch_applets\": 1".into());
    }
    let groups: BTreeMap<String, GroupPolicy> = match v.get("groups") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(g) => serde_json::from_value(g.clone()).map_err(|e| {
            format!("'groups' must map group names to ignore, create or create_enable: {e}")
        })?,
    };
    let list = v["applets"].as_array().ok_or("'applets' must be a list")?;
    let mut uids = HashSet::new();
    let mut names = HashSet::new();
    let mut applets = Vec::new();
    for (i, a) in list.iter().enumerate() {
        let at = |msg: String| format!("applet {i} ({}): {msg}", a["name"].as_str().unwrap_or("?"));
        let text_field = |k: &str| {
            a[k].as_str()
                .map(String::from)
                .ok_or_else(|| at(format!("'{k}' must be a string")))
        };
        let kind: AppletKind = serde_json::from_value(a["kind"].clone()).map_err(|_| {
            let kinds: Vec<&str> = AppletKind::ALL.iter().map(|k| k.as_str()).collect();
            at(format!("'kind' must be one of {}", kinds.join(", ")))
        })?;
        let content = Content {
            name: text_field("name")?,
            group: text_field("group")?,
            kind,
            spec: a.get("spec").cloned().unwrap_or(Value::Null),
            auto_enable: a["auto_enable"].as_bool().unwrap_or(false),
        };
        content.validate().map_err(|e| at(e.to_string()))?;
        let uid = a["uid"].as_str().map(String::from);
        if let Some(u) = &uid {
            if !uids.insert(u.clone()) {
                return Err(at(format!("uid '{u}' appears twice")));
            }
        }
        if !names.insert((content.group.clone(), content.name.clone())) {
            return Err(at(format!(
                "group '{}' has two applets of this name",
                content.group
            )));
        }
        applets.push(FileApplet {
            uid,
            version: a["version"].as_i64(),
            content,
        });
    }
    Ok(MirrorFile { groups, applets })
}

/// What an import did.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub struct ImportReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub restored: Vec<String>,
    pub deleted: Vec<String>,
    pub conflicts: Vec<String>,
    pub unchanged: usize,
}

impl ImportReport {
    pub fn changed(&self) -> bool {
        !(self.created.is_empty()
            && self.updated.is_empty()
            && self.restored.is_empty()
            && self.deleted.is_empty())
    }
}

impl Applets {
    /// Imports a mirror file's text (see the module documentation for the rules) in one
    /// transaction: a file that cannot be imported whole (an applet renamed onto another's name,
    /// say) changes nothing, and every tab then sees the whole import as one change.
    pub async fn import(&self, text: &str, by: &str) -> Result<ImportReport, AppletError> {
        let file = parse(text).map_err(AppletError::Invalid)?;
        for group in file.groups.keys() {
            validate_name("group", group).map_err(AppletError::Invalid)?;
        }
        let mut report = ImportReport::default();
        let _guard = self.lock.lock().await;
        let mut tx = self.db.begin_with("BEGIN IMMEDIATE").await?;
        let groups_now = groups_in(&mut tx).await?;
        let mut groups_changed = false;
        for (group, policy) in &file.groups {
            if groups_now.get(group) != Some(policy) {
                sqlx::query("INSERT INTO applet_groups (name, policy) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET policy = excluded.policy")
                    .bind(group)
                    .bind(json!(policy).as_str().unwrap_or("create"))
                    .execute(&mut *tx)
                    .await?;
                groups_changed = true;
            }
        }
        let current: Vec<Applet> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM applets"))
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(applet)
            .collect();
        let in_file: HashSet<&str> = file
            .applets
            .iter()
            .filter_map(|a| a.uid.as_deref())
            .collect();
        for gone in current.iter().filter(|a| !in_file.contains(a.uid.as_str())) {
            let deletion = Applet {
                version: gone.version + 1,
                updated_by: by.to_string(),
                updated_at: now(),
                ..gone.clone()
            };
            write(&mut tx, &deletion, true).await?;
            report.deleted.push(gone.uid.clone());
        }
        for fa in file.applets {
            let label = format!("{}/{}", fa.content.group, fa.content.name);
            let now_row = fa
                .uid
                .as_ref()
                .and_then(|uid| current.iter().find(|a| &a.uid == uid));
            let (uid, version) = match (&fa.uid, now_row) {
                (None, _) => (uuid::Uuid::new_v4().to_string(), 1),
                (Some(uid), None) => {
                    let last: (i64,) = sqlx::query_as(
                        "SELECT COALESCE(MAX(version), 0) FROM applet_versions WHERE uid = ?",
                    )
                    .bind(uid)
                    .fetch_one(&mut *tx)
                    .await?;
                    (uid.clone(), last.0 + 1)
                }
                (Some(_), Some(a)) if Content::of(a) == fa.content => {
                    report.unchanged += 1;
                    continue;
                }
                (Some(uid), Some(a)) => {
                    let file_version = fa.version.unwrap_or(a.version);
                    if file_version < a.version {
                        let saved: Option<Row> = sqlx::query_as(&format!(
                            "SELECT {COLUMNS} FROM applet_versions \
                             WHERE uid = ? AND version = ? AND deleted = 0"
                        ))
                        .bind(uid)
                        .bind(file_version)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let saved = saved.map(|r| Content::of(&applet(r)));
                        if saved.as_ref() != Some(&fa.content) {
                            let msg = format!(
                                "applet {label} ({uid}): the file edits version {file_version}, but the database has moved on to version {} (by {}); the database's version is kept and the file's is saved in mirror_conflicts",
                                a.version, a.updated_by
                            );
                            let content = json!({"uid": uid, "version": file_version, "name": fa.content.name, "group": fa.content.group,
                                                 "kind": fa.content.kind, "spec": fa.content.spec, "auto_enable": fa.content.auto_enable});
                            sqlx::query("INSERT INTO mirror_conflicts (at, file, msg, content) VALUES (?, ?, ?, ?)")
                                .bind(now())
                                .bind(by)
                                .bind(&msg)
                                .bind(content.to_string())
                                .execute(&mut *tx)
                                .await?;
                            report.conflicts.push(msg);
                            continue;
                        }
                        report.restored.push(uid.clone());
                    } else {
                        report.updated.push(uid.clone());
                    }
                    (uid.clone(), a.version + 1)
                }
            };
            let taken: Option<(String,)> =
                sqlx::query_as("SELECT uid FROM applets WHERE grp = ? AND name = ? AND uid != ?")
                    .bind(&fa.content.group)
                    .bind(&fa.content.name)
                    .bind(&uid)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((other,)) = taken {
                return Err(AppletError::Conflict(format!(
                    "applet {label}: group '{}' already has an applet named '{}' ({other}); \
                     nothing was imported — rename one of them in the file",
                    fa.content.group, fa.content.name
                )));
            }
            if now_row.is_none() {
                report.created.push(uid.clone());
            }
            let a = Applet {
                uid,
                name: fa.content.name,
                group: fa.content.group,
                kind: fa.content.kind,
                spec: fa.content.spec,
                version,
                updated_by: by.to_string(),
                updated_at: now(),
                auto_enable: fa.content.auto_enable,
            };
            write(&mut tx, &a, false).await?;
        }
        tx.commit().await?;
        if report.changed() || groups_changed {
            let applets = self.list().await?;
            self.publish(AppletDelta::Replace { applets }).await?;
        }
        Ok(report)
    }
}

async fn groups_in(
    tx: &mut Transaction<'_, Sqlite>,
) -> Result<BTreeMap<String, GroupPolicy>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, policy FROM applet_groups")
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(n, p)| (n, serde_json::from_value(json!(p)).unwrap_or_default()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_a_bad_applet_names_it() {
        let text = r#"{"hutch_applets": 1, "applets": [
            {"uid": "a", "name": "ok", "group": "g", "kind": "markdown", "spec": {"text": "hi"}},
            {"uid": "b", "name": "bad", "group": "g", "kind": "line", "spec": {"y": "det"}}]}"#;
        let err = parse(text).unwrap_err();
        assert!(err.starts_with("applet 1 (bad): spec.run:"), "{err}");
        assert!(parse("{").unwrap_err().starts_with("not valid JSON"));
        assert!(parse("{}").unwrap_err().contains("hutch_applets"));
        let twice = r#"{"hutch_applets": 1, "applets": [
            {"uid": "a", "name": "x", "group": "g", "kind": "markdown", "spec": {"text": "1"}},
            {"uid": "b", "name": "x", "group": "g", "kind": "markdown", "spec": {"text": "2"}}]}"#;
        assert!(parse(twice)
            .unwrap_err()
            .contains("two applets of this name"));
    }

    #[test]
    fn the_mirror_text_is_ordered_and_parses_back() {
        let a = |uid: &str, name: &str| Applet {
            uid: uid.into(),
            name: name.into(),
            group: "g".into(),
            kind: AppletKind::Markdown,
            spec: json!({"text": name}),
            version: 2,
            updated_by: "ann".into(),
            updated_at: "t".into(),
            auto_enable: false,
        };
        let text = mirror_text(&[a("2", "zeta"), a("1", "alpha")], &BTreeMap::new());
        assert!(text.find("alpha").unwrap() < text.find("zeta").unwrap());
        let back = parse(&text).unwrap();
        assert_eq!(back.applets[0].uid.as_deref(), Some("1"));
        assert_eq!(back.applets[0].version, Some(2));
    }
}
