//! An applet's history: each change stored as a new version (create, save, delete), the
//! versions listed, and an old one made current again.

use hutch_app::model::applets::{Applet, AppletDelta};
use serde::Serialize;

use super::{applet, now, write, AppletError, Applets, Content, Row};

/// One saved version, for `/versions`.
#[derive(Clone, Debug, Serialize)]
pub struct Version {
    #[serde(flatten)]
    pub applet: Applet,
    /// This version is the applet's deletion (its content is the last one before).
    pub deleted: bool,
}

/// A [`Row`] of `applet_versions`, with its `deleted` flag.
#[derive(sqlx::FromRow)]
struct VersionRow {
    #[sqlx(flatten)]
    row: Row,
    deleted: bool,
}

impl Applets {
    pub async fn versions(&self, uid: &str) -> Result<Vec<Version>, AppletError> {
        let rows: Vec<VersionRow> = sqlx::query_as(
            "SELECT uid, name, grp, kind, spec, version, updated_by, updated_at, auto_enable, deleted \
             FROM applet_versions WHERE uid = ? ORDER BY version DESC",
        )
        .bind(uid)
        .fetch_all(&self.db)
        .await?;
        if rows.is_empty() {
            return Err(AppletError::NotFound(uid.to_string()));
        }
        Ok(rows
            .into_iter()
            .map(|r| Version {
                applet: applet(r.row),
                deleted: r.deleted,
            })
            .collect())
    }

    /// Makes an old version current again, as a new version (a deleted applet comes back).
    pub async fn restore(&self, uid: &str, version: i64, by: &str) -> Result<Applet, AppletError> {
        let old = self
            .versions(uid)
            .await?
            .into_iter()
            .find(|v| v.applet.version == version && !v.deleted)
            .ok_or_else(|| AppletError::Invalid(format!("applet '{uid}' has no version {version} to restore; GET /api/applets/{uid}/versions lists them")))?;
        let _guard = self.lock.lock().await;
        let a = self.put_content(uid, Content::of(&old.applet), by).await?;
        self.publish(AppletDelta::Upsert {
            applet: Box::new(a.clone()),
        })
        .await?;
        Ok(a)
    }

    pub(super) async fn insert(
        &self,
        content: Content,
        uid: String,
        version: i64,
        by: &str,
    ) -> Result<Applet, AppletError> {
        let a = Applet {
            uid,
            name: content.name,
            group: content.group,
            kind: content.kind,
            spec: content.spec,
            version,
            updated_by: by.to_string(),
            updated_at: now(),
            auto_enable: content.auto_enable,
        };
        let mut tx = self.db.begin_with("BEGIN IMMEDIATE").await?;
        let taken: Option<(String,)> =
            sqlx::query_as("SELECT uid FROM applets WHERE grp = ? AND name = ?")
                .bind(&a.group)
                .bind(&a.name)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((other,)) = taken {
            return Err(AppletError::Conflict(format!(
                "group '{}' already has an applet named '{}' ({other}); choose another name or edit that one",
                a.group, a.name
            )));
        }
        write(&mut tx, &a, false).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// A new version of `current` with `content`.
    pub(super) async fn save(
        &self,
        current: &Applet,
        content: Content,
        by: &str,
    ) -> Result<Applet, AppletError> {
        if content.group != current.group || content.name != current.name {
            let taken: Option<(String,)> =
                sqlx::query_as("SELECT uid FROM applets WHERE grp = ? AND name = ? AND uid != ?")
                    .bind(&content.group)
                    .bind(&content.name)
                    .bind(&current.uid)
                    .fetch_optional(&self.db)
                    .await?;
            if let Some((other,)) = taken {
                return Err(AppletError::Conflict(format!(
                    "group '{}' already has an applet named '{}' ({other})",
                    content.group, content.name
                )));
            }
        }
        let a = Applet {
            uid: current.uid.clone(),
            name: content.name,
            group: content.group,
            kind: content.kind,
            spec: content.spec,
            version: current.version + 1,
            updated_by: by.to_string(),
            updated_at: now(),
            auto_enable: content.auto_enable,
        };
        let mut tx = self.db.begin_with("BEGIN IMMEDIATE").await?;
        write(&mut tx, &a, false).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Sets `uid`'s content as a new version, whether it exists now or was deleted.
    async fn put_content(
        &self,
        uid: &str,
        content: Content,
        by: &str,
    ) -> Result<Applet, AppletError> {
        match self.get(uid).await? {
            Some(current) => self.save(&current, content, by).await,
            None => {
                let last: (i64,) = sqlx::query_as(
                    "SELECT COALESCE(MAX(version), 0) FROM applet_versions WHERE uid = ?",
                )
                .bind(uid)
                .fetch_one(&self.db)
                .await?;
                self.insert(content, uid.to_string(), last.0 + 1, by).await
            }
        }
    }

    pub(super) async fn remove(&self, current: &Applet, by: &str) -> Result<(), AppletError> {
        let gone = Applet {
            version: current.version + 1,
            updated_by: by.to_string(),
            updated_at: now(),
            ..current.clone()
        };
        let mut tx = self.db.begin_with("BEGIN IMMEDIATE").await?;
        write(&mut tx, &gone, true).await?;
        tx.commit().await?;
        Ok(())
    }
}
