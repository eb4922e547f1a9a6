//! Persistence of the queue state in SQLite, driven by the state machine's change log.
//!
//! Every batch of changes is written in one transaction before the manager replies or publishes.
//! The queue order is kept with REAL positions: an insert or move writes one row (a position
//! between its neighbours); only when a gap is exhausted is the whole queue renumbered.

use std::collections::HashMap;

use hutch_app::model::queue::{ExitStatus, QueueItem};
use hutch_app::model::status::QueueMode;
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::state::{Change, Lock, QueueState};
use order::flush_inserts;

mod load;
mod order;

/// What was in the database at start-up.
pub struct Loaded {
    pub items: Vec<QueueItem>,
    pub history: Vec<QueueItem>,
    pub mode: QueueMode,
    pub autostart: bool,
    pub lock: Option<Lock>,
    pub next_scan_id: i64,
    /// Items that were running when the previous server process ended, now back in front
    /// (item uid, dispatch uid).
    pub interrupted: Vec<(String, String)>,
}

pub struct Store {
    pool: SqlitePool,
    /// Mirror of the persisted order, replayed from the change log.
    order: Vec<String>,
    positions: HashMap<String, f64>,
    /// The dispatch row of the executing item.
    running_dispatch: Option<String>,
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn status_text(s: ExitStatus) -> &'static str {
    s.as_str()
}

impl Store {
    /// Writes one batch of changes in one transaction.
    pub async fn apply(
        &mut self,
        changes: &[Change],
        state: &QueueState,
        now: f64,
    ) -> Result<(), sqlx::Error> {
        let mut stored = changes.iter().filter(|c| {
            !matches!(
                c,
                Change::Status | Change::Runs | Change::Tasks | Change::Catalog
            )
        });
        if let (Some(only), None) = (stored.next(), stored.next()) {
            if self.apply_single(only).await? {
                return Ok(());
            }
        }
        if changes.iter().all(|c| {
            matches!(
                c,
                Change::Status | Change::Runs | Change::Tasks | Change::Catalog
            )
        }) {
            return Ok(());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut pending: Vec<(String, f64, String)> = Vec::new();
        for change in changes {
            if !matches!(change, Change::QueueInsert { .. }) {
                flush_inserts(&mut tx, &mut pending).await?;
            }
            match change {
                Change::QueueInsert { index, item } => {
                    // Consecutive inserts (a batch add) become one multi-row INSERT.
                    let pos = match self.slot(*index) {
                        (i, Some(pos)) => {
                            self.order.insert(i, item.item_uid.clone());
                            self.positions.insert(item.item_uid.clone(), pos);
                            pos
                        }
                        (_, None) => {
                            flush_inserts(&mut tx, &mut pending).await?;
                            self.place(&mut tx, *index, &item.item_uid).await?
                        }
                    };
                    pending.push((item.item_uid.clone(), pos, to_json(item)));
                    continue;
                }
                Change::QueueRemove { uid } => {
                    self.forget(uid);
                    sqlx::query("DELETE FROM queue_items WHERE item_uid = ?")
                        .bind(uid)
                        .execute(&mut *tx)
                        .await?;
                }
                Change::QueueMove { uid, index } => {
                    self.forget(uid);
                    let pos = self.place(&mut tx, *index, uid).await?;
                    sqlx::query("UPDATE queue_items SET position = ? WHERE item_uid = ?")
                        .bind(pos)
                        .bind(uid)
                        .execute(&mut *tx)
                        .await?;
                }
                Change::QueueReplace { uid, item } => {
                    if let Some(slot) = self.order.iter_mut().find(|u| *u == uid) {
                        slot.clone_from(&item.item_uid);
                    }
                    if let Some(pos) = self.positions.remove(uid) {
                        self.positions.insert(item.item_uid.clone(), pos);
                    }
                    sqlx::query("UPDATE queue_items SET item_uid = ?, item = ? WHERE item_uid = ?")
                        .bind(&item.item_uid)
                        .bind(to_json(item))
                        .bind(uid)
                        .execute(&mut *tx)
                        .await?;
                }
                Change::QueueClear => {
                    self.order.clear();
                    self.positions.clear();
                    sqlx::query("DELETE FROM queue_items")
                        .execute(&mut *tx)
                        .await?;
                }
                Change::Started(item) => {
                    let uid = uuid::Uuid::new_v4().to_string();
                    let immediate = item
                        .properties
                        .as_ref()
                        .is_some_and(|p| p.immediate_execution);
                    sqlx::query(
                        "INSERT INTO dispatches (uid, item_uid, kind, item, plan_name, user, user_group, status, \
                         created_at, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                    )
                    .bind(&uid)
                    .bind(&item.item_uid)
                    .bind(if immediate { "immediate" } else { "queue" })
                    .bind(to_json(item))
                    .bind(&item.name)
                    .bind(&item.user)
                    .bind(&item.user_group)
                    .bind(now)
                    .bind(now)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    log_status(&mut tx, &uid, "running", now, "").await?;
                    self.running_dispatch = Some(uid);
                }
                Change::Finished(item) => {
                    let Some(uid) = self.running_dispatch.take() else {
                        continue;
                    };
                    let Some(result) = &item.result else { continue };
                    let status = status_text(result.exit_status);
                    sqlx::query(
                        "UPDATE dispatches SET item = ?, status = ?, updated_at = ?, finished_at = ?, exit_msg = ?, \
                         traceback = ?, run_uids = ?, scan_ids = ?, in_history = 1 WHERE uid = ?",
                    )
                    .bind(to_json(item))
                    .bind(status)
                    .bind(now)
                    .bind(now)
                    .bind(&result.msg)
                    .bind(&result.traceback)
                    .bind(to_json(&result.run_uids))
                    .bind(to_json(&result.scan_ids))
                    .bind(&uid)
                    .execute(&mut *tx)
                    .await?;
                    log_status(&mut tx, &uid, status, now, &result.msg).await?;
                }
                Change::HistoryTrim { count } => {
                    sqlx::query(
                        "UPDATE dispatches SET in_history = 0 WHERE id IN \
                         (SELECT id FROM dispatches WHERE in_history = 1 ORDER BY finished_at, id LIMIT ?)",
                    )
                    .bind(*count as i64)
                    .execute(&mut *tx)
                    .await?;
                }
                Change::Settings => {
                    save_setting(&mut tx, "mode", &to_json(&state.mode)).await?;
                    save_setting(&mut tx, "autostart", &to_json(&state.autostart)).await?;
                    save_setting(&mut tx, "lock", &to_json(&state.lock)).await?;
                }
                Change::Dispatch(status) => {
                    let Some(uid) = &self.running_dispatch else {
                        continue;
                    };
                    sqlx::query("UPDATE dispatches SET status = ?, updated_at = ? WHERE uid = ?")
                        .bind(status.as_str())
                        .bind(now)
                        .bind(uid)
                        .execute(&mut *tx)
                        .await?;
                    log_status(&mut tx, uid, status.as_str(), now, "").await?;
                }
                Change::NextScanId(next) => {
                    save_setting(&mut tx, "next_scan_id", &next.to_string()).await?;
                }
                Change::Runs | Change::Status | Change::Tasks | Change::Catalog => {}
            }
        }
        flush_inserts(&mut tx, &mut pending).await?;
        tx.commit().await
    }

    /// The database, for reads beside the queue's own (the runs of a dispatch).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The dispatch row of the executing item, if any.
    pub fn running_dispatch(&self) -> Option<&str> {
        self.running_dispatch.as_deref()
    }

    /// Keeps what `environment` described, for the next start.
    pub async fn save_catalog(
        &self,
        environment: &str,
        plans: &serde_json::Value,
        devices: &serde_json::Value,
        types: Option<&serde_json::Value>,
        now: f64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO environment_catalog (environment, plans, devices, types, updated_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (environment) DO UPDATE SET plans = excluded.plans, \
             devices = excluded.devices, types = excluded.types, updated_at = excluded.updated_at",
        )
        .bind(environment)
        .bind(plans.to_string())
        .bind(devices.to_string())
        .bind(types.map(|t| t.to_string()))
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// What `environment` described when it last opened: (plans, devices, types).
    pub async fn load_catalog(
        &self,
        environment: &str,
    ) -> Result<
        Option<(
            serde_json::Value,
            serde_json::Value,
            Option<serde_json::Value>,
        )>,
        sqlx::Error,
    > {
        let row: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT plans, devices, types FROM environment_catalog WHERE environment = ?",
        )
        .bind(environment)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(p, d, t)| {
            let p = serde_json::from_str(&p).ok()?;
            let d = serde_json::from_str(&d).ok()?;
            let t = t.and_then(|t| serde_json::from_str(&t).ok());
            Some((p, d, t))
        }))
    }
}

async fn log_status(
    tx: &mut Transaction<'_, Sqlite>,
    uid: &str,
    status: &str,
    at: f64,
    msg: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dispatch_status_log (dispatch_uid, status, at, msg) VALUES (?, ?, ?, ?)",
    )
    .bind(uid)
    .bind(status)
    .bind(at)
    .bind(msg)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn save_setting(
    tx: &mut Transaction<'_, Sqlite>,
    key: &str,
    value: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO manager_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
