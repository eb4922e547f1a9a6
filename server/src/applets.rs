//! Applets in the master's database: every version kept, optimistic concurrency (a stale
//! update is refused with the current version), experiment-created applets under a per-group
//! policy, live sync on the `applets` topic, and the `applets.json` mirror (see [`import`]).
//!
//! One async lock serialises changes, so the database, the mirror and the topic agree on order.

mod experiment;
pub mod import;
mod versions;

pub use experiment::ExperimentOutcome;
pub use versions::Version;

use std::collections::BTreeMap;
use std::sync::Arc;

use hutch_app::model::applets::{
    validate, validate_name, Applet, AppletDelta, AppletKind, GroupPolicy,
};
use hutch_app::model::stream::Topic;
use serde_json::{json, Value};
use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::Mutex;

use crate::hub::Hub;
use crate::mirror::Mirror;

#[derive(Debug, thiserror::Error)]
pub enum AppletError {
    #[error("{0}")]
    Invalid(String),
    #[error("there is no applet '{0}'")]
    NotFound(String),
    #[error("applet '{}' was changed meanwhile: you edited version {expected}, the current one is version {} (by {}); reload it and apply your change again", current.uid, current.version, current.updated_by)]
    Stale { expected: i64, current: Box<Applet> },
    #[error("{0}")]
    Conflict(String),
    #[error("the database refused the change: {0}")]
    Db(#[from] sqlx::Error),
}

/// The editable part of an applet.
#[derive(Clone, Debug, PartialEq)]
pub struct Content {
    pub name: String,
    pub group: String,
    pub kind: AppletKind,
    pub spec: Value,
    pub auto_enable: bool,
}

impl Content {
    pub fn validate(&self) -> Result<(), AppletError> {
        validate_name("name", &self.name).map_err(AppletError::Invalid)?;
        validate_name("group", &self.group).map_err(AppletError::Invalid)?;
        validate(self.kind, &self.spec).map_err(|e| AppletError::Invalid(e.to_string()))
    }

    fn of(a: &Applet) -> Content {
        Content {
            name: a.name.clone(),
            group: a.group.clone(),
            kind: a.kind,
            spec: a.spec.clone(),
            auto_enable: a.auto_enable,
        }
    }
}

#[derive(Clone)]
pub struct Applets {
    lock: Arc<Mutex<()>>,
    db: SqlitePool,
    hub: Hub,
    mirror: Option<Mirror>,
}

fn now() -> String {
    crate::clock::Timestamp::now().reply()
}

/// A row of `applets` (the columns of [`COLUMNS`]).
#[derive(sqlx::FromRow)]
struct Row {
    uid: String,
    name: String,
    grp: String,
    kind: String,
    spec: String,
    version: i64,
    updated_by: String,
    updated_at: String,
    auto_enable: bool,
}
const COLUMNS: &str = "uid, name, grp, kind, spec, version, updated_by, updated_at, auto_enable";

fn applet(r: Row) -> Applet {
    Applet {
        uid: r.uid,
        name: r.name,
        group: r.grp,
        kind: serde_json::from_value(json!(r.kind)).unwrap_or(AppletKind::Markdown),
        spec: serde_json::from_str(&r.spec).unwrap_or(Value::Null),
        version: r.version,
        updated_by: r.updated_by,
        updated_at: r.updated_at,
        auto_enable: r.auto_enable,
    }
}

impl Applets {
    /// Opens the applet store and publishes the `applets` snapshot.
    pub async fn load(
        db: SqlitePool,
        hub: Hub,
        mirror: Option<Mirror>,
    ) -> Result<Self, sqlx::Error> {
        let this = Applets {
            lock: Arc::new(Mutex::new(())),
            db,
            hub,
            mirror,
        };
        this.publish(AppletDelta::Reset).await?;
        Ok(this)
    }

    pub fn mirror(&self) -> Option<&Mirror> {
        self.mirror.as_ref()
    }

    pub async fn list(&self) -> Result<Vec<Applet>, sqlx::Error> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM applets ORDER BY grp, name, uid"
        ))
        .fetch_all(&self.db)
        .await?;
        Ok(rows.into_iter().map(applet).collect())
    }

    pub async fn get(&self, uid: &str) -> Result<Option<Applet>, sqlx::Error> {
        let row: Option<Row> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM applets WHERE uid = ?"))
                .bind(uid)
                .fetch_optional(&self.db)
                .await?;
        Ok(row.map(applet))
    }

    pub async fn groups(&self) -> Result<BTreeMap<String, GroupPolicy>, sqlx::Error> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, policy FROM applet_groups")
            .fetch_all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(n, p)| (n, serde_json::from_value(json!(p)).unwrap_or_default()))
            .collect())
    }

    pub async fn set_group_policy(
        &self,
        group: &str,
        policy: GroupPolicy,
    ) -> Result<(), AppletError> {
        validate_name("group", group).map_err(AppletError::Invalid)?;
        let _guard = self.lock.lock().await;
        sqlx::query("INSERT INTO applet_groups (name, policy) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET policy = excluded.policy")
            .bind(group)
            .bind(json!(policy).as_str().unwrap_or("create"))
            .execute(&self.db)
            .await?;
        self.publish(AppletDelta::Group {
            group: group.to_string(),
            policy,
        })
        .await?;
        Ok(())
    }

    pub async fn create(&self, content: Content, by: &str) -> Result<Applet, AppletError> {
        content.validate()?;
        let _guard = self.lock.lock().await;
        let a = self
            .insert(content, uuid::Uuid::new_v4().to_string(), 1, by)
            .await?;
        self.publish(AppletDelta::Upsert {
            applet: Box::new(a.clone()),
        })
        .await?;
        Ok(a)
    }

    /// Saves a new version if `expected` is the current version; otherwise [`AppletError::Stale`].
    pub async fn update(
        &self,
        uid: &str,
        expected: i64,
        content: Content,
        by: &str,
    ) -> Result<Applet, AppletError> {
        content.validate()?;
        let _guard = self.lock.lock().await;
        let current = self
            .get(uid)
            .await?
            .ok_or_else(|| AppletError::NotFound(uid.to_string()))?;
        if current.version != expected {
            return Err(AppletError::Stale {
                expected,
                current: Box::new(current),
            });
        }
        let a = self.save(&current, content, by).await?;
        self.publish(AppletDelta::Upsert {
            applet: Box::new(a.clone()),
        })
        .await?;
        Ok(a)
    }

    /// Deletes the applet (its versions stay and it can be restored); `expected` as for update.
    pub async fn delete(
        &self,
        uid: &str,
        expected: Option<i64>,
        by: &str,
    ) -> Result<Applet, AppletError> {
        let _guard = self.lock.lock().await;
        let current = self
            .get(uid)
            .await?
            .ok_or_else(|| AppletError::NotFound(uid.to_string()))?;
        if let Some(expected) = expected.filter(|e| *e != current.version) {
            return Err(AppletError::Stale {
                expected,
                current: Box::new(current),
            });
        }
        self.remove(&current, by).await?;
        self.publish(AppletDelta::Delete {
            uid: uid.to_string(),
        })
        .await?;
        Ok(current)
    }

    /// Publishes a change on the `applets` topic (snapshot: every applet and the group policies)
    /// and rewrites the mirror.
    async fn publish(&self, delta: AppletDelta) -> Result<(), sqlx::Error> {
        let applets = self.list().await?;
        let groups = self.groups().await?;
        if let Some(m) = &self.mirror {
            m.write(import::mirror_text(&applets, &groups));
        }
        self.hub.publish_with_snapshot(
            Topic::Applets,
            json!(delta),
            json!({"applets": applets, "groups": groups}),
        );
        Ok(())
    }
}

/// Writes a version row and makes it current (or, for a deletion, removes the current row).
async fn write(
    tx: &mut Transaction<'_, Sqlite>,
    a: &Applet,
    deleted: bool,
) -> Result<(), sqlx::Error> {
    let kind = json!(a.kind);
    sqlx::query(
        "INSERT INTO applet_versions (uid, version, name, grp, kind, spec, updated_by, updated_at, auto_enable, deleted) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&a.uid)
    .bind(a.version)
    .bind(&a.name)
    .bind(&a.group)
    .bind(kind.as_str())
    .bind(a.spec.to_string())
    .bind(&a.updated_by)
    .bind(&a.updated_at)
    .bind(a.auto_enable)
    .bind(deleted)
    .execute(&mut **tx)
    .await?;
    if deleted {
        sqlx::query("DELETE FROM applets WHERE uid = ?")
            .bind(&a.uid)
            .execute(&mut **tx)
            .await?;
    } else {
        sqlx::query(
            "INSERT INTO applets (uid, name, grp, kind, spec, version, updated_by, updated_at, auto_enable) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO UPDATE SET name = excluded.name, grp = excluded.grp, \
             kind = excluded.kind, spec = excluded.spec, version = excluded.version, updated_by = excluded.updated_by, \
             updated_at = excluded.updated_at, auto_enable = excluded.auto_enable",
        )
        .bind(&a.uid)
        .bind(&a.name)
        .bind(&a.group)
        .bind(kind.as_str())
        .bind(a.spec.to_string())
        .bind(a.version)
        .bind(&a.updated_by)
        .bind(&a.updated_at)
        .bind(a.auto_enable)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
