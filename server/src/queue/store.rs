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

/// What was in the database at start-up.
pub struct Loaded {
    pub items: Vec<QueueItem>,
    pub history: Vec<QueueItem>,
    pub mode: QueueMode,
    pub autostart: bool,
    pub lock: Option<Lock>,
    pub next_scan_id: i64,
    /// Items that were running when the previous server process ended, now back in front.
    pub interrupted: Vec<String>,
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

/// The stored queue (with the order's positions), history and settings.
#[allow(clippy::type_complexity)]
async fn read(
    pool: &SqlitePool,
    interrupted: Vec<String>,
) -> Result<(Loaded, Vec<String>, HashMap<String, f64>), sqlx::Error> {
    let rows: Vec<(String, f64, String)> =
        sqlx::query_as("SELECT item_uid, position, item FROM queue_items ORDER BY position")
            .fetch_all(pool)
            .await?;
    let mut items = Vec::with_capacity(rows.len());
    let mut order = Vec::with_capacity(rows.len());
    let mut positions = HashMap::with_capacity(rows.len());
    for (uid, pos, json) in rows {
        match serde_json::from_str::<QueueItem>(&json) {
            Ok(item) => items.push(item),
            Err(e) => {
                tracing::error!(item_uid = %uid, "skipping an unreadable queue item: {e}");
                continue;
            }
        }
        order.push(uid.clone());
        positions.insert(uid, pos);
    }
    let history_rows: Vec<(String,)> =
        sqlx::query_as("SELECT item FROM dispatches WHERE in_history = 1 ORDER BY finished_at, id")
            .fetch_all(pool)
            .await?;
    let history = history_rows
        .into_iter()
        .filter_map(|(j,)| serde_json::from_str(&j).ok())
        .collect();
    let settings: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM manager_settings")
        .fetch_all(pool)
        .await?;
    let setting = |k: &str| {
        settings
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let loaded = Loaded {
        items,
        history,
        mode: setting("mode")
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default(),
        autostart: setting("autostart")
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or(false),
        lock: setting("lock")
            .and_then(|v| serde_json::from_str(v).ok())
            .flatten(),
        next_scan_id: setting("next_scan_id")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1),
        interrupted,
    };
    Ok((loaded, order, positions))
}

fn status_text(s: ExitStatus) -> &'static str {
    s.as_str()
}

impl Store {
    /// Loads the state; first turns any execution the previous process left running into an
    /// `interrupted` history entry and puts a copy of its item back at the front of the queue.
    pub async fn load(pool: SqlitePool, now: f64) -> Result<(Store, Loaded), sqlx::Error> {
        let interrupted = recover(&pool, now).await?;
        let (loaded, order, positions) = read(&pool, interrupted).await?;
        Ok((
            Store {
                pool,
                order,
                positions,
                running_dispatch: None,
            },
            loaded,
        ))
    }

    /// Re-reads the stored queue, history and settings, and the store's own mirror of the order:
    /// after a failed commit the database is the truth. `running_dispatch` is the running
    /// execution's dispatch as it was before the failed transaction.
    pub async fn reload(
        &mut self,
        running_dispatch: Option<String>,
    ) -> Result<Loaded, sqlx::Error> {
        self.running_dispatch = running_dispatch;
        let (loaded, order, positions) = read(&self.pool, Vec::new()).await?;
        self.order = order;
        self.positions = positions;
        Ok(loaded)
    }

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

    fn forget(&mut self, uid: &str) {
        self.order.retain(|u| u != uid);
        self.positions.remove(uid);
    }

    /// The clamped index and, if there is room between the neighbours, the position for an item
    /// put at `index` of the mirror.
    fn slot(&self, index: usize) -> (usize, Option<f64>) {
        let index = index.min(self.order.len());
        let at = |i: usize| {
            self.order
                .get(i)
                .and_then(|u| self.positions.get(u))
                .copied()
        };
        let prev = index.checked_sub(1).and_then(at);
        let next = at(index);
        let pos = match (prev, next) {
            (None, None) => Some(0.0),
            (Some(p), None) => Some(p + 1024.0),
            (None, Some(n)) => Some(n - 1024.0),
            (Some(p), Some(n)) if n - p > 1e-6 => Some((p + n) / 2.0),
            _ => None,
        };
        (index, pos)
    }

    /// The common edits that are one SQL statement (an add at a free position, a remove) run
    /// without an explicit transaction: one round trip to SQLite instead of three. Returns
    /// false when the change needs the general path.
    async fn apply_single(&mut self, change: &Change) -> Result<bool, sqlx::Error> {
        match change {
            Change::QueueInsert { index, item } => {
                let (index, Some(pos)) = self.slot(*index) else {
                    return Ok(false);
                };
                sqlx::query("INSERT INTO queue_items (item_uid, position, item) VALUES (?, ?, ?)")
                    .bind(&item.item_uid)
                    .bind(pos)
                    .bind(to_json(item))
                    .execute(&self.pool)
                    .await?;
                self.order.insert(index, item.item_uid.clone());
                self.positions.insert(item.item_uid.clone(), pos);
                Ok(true)
            }
            Change::QueueRemove { uid } => {
                sqlx::query("DELETE FROM queue_items WHERE item_uid = ?")
                    .bind(uid)
                    .execute(&self.pool)
                    .await?;
                self.forget(uid);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Puts `uid` at `index` of the mirror and returns its new position, renumbering the whole
    /// queue (in this transaction) when there is no room between the neighbours.
    async fn place(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        index: usize,
        uid: &str,
    ) -> Result<f64, sqlx::Error> {
        let (index, pos) = self.slot(index);
        self.order.insert(index, uid.to_string());
        if let Some(pos) = pos {
            self.positions.insert(uid.to_string(), pos);
            return Ok(pos);
        }
        // Renumber: every item gets 1024 × its index. Moving them out of the way first keeps
        // positions unique during the update.
        sqlx::query("UPDATE queue_items SET position = -position - 1e12")
            .execute(&mut **tx)
            .await?;
        for (i, u) in self.order.iter().enumerate() {
            let p = i as f64 * 1024.0;
            self.positions.insert(u.clone(), p);
            if u != uid {
                sqlx::query("UPDATE queue_items SET position = ? WHERE item_uid = ?")
                    .bind(p)
                    .bind(u)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(self.positions[uid])
    }
}

/// Writes queued-up inserts in one statement (SQLite takes up to 32 766 parameters; 300 rows of 3
/// stay far below).
async fn flush_inserts(
    tx: &mut Transaction<'_, Sqlite>,
    pending: &mut Vec<(String, f64, String)>,
) -> Result<(), sqlx::Error> {
    for chunk in pending.chunks(300) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO queue_items (item_uid, position, item) ",
        );
        q.push_values(chunk, |mut row, (uid, pos, json)| {
            row.push_bind(uid).push_bind(pos).push_bind(json);
        });
        q.build().execute(&mut **tx).await?;
    }
    pending.clear();
    Ok(())
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

/// Executions left `running`/`paused` by a previous process become `interrupted` history
/// entries; a copy of a queue item goes back to the front of the queue. One transaction.
async fn recover(pool: &SqlitePool, now: f64) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT uid, kind, item FROM dispatches WHERE status IN ('running', 'paused') ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut recovered = Vec::new();
    let msg = "hutch stopped while this item ran (server restart or crash); it was put back at the front of the queue";
    for (uid, kind, item_json) in rows {
        let Ok(mut item) = serde_json::from_str::<QueueItem>(&item_json) else {
            continue;
        };
        let time_start = item.properties.as_ref().map_or(now, |p| p.time_start);
        item.properties = None;
        item.result = Some(hutch_app::model::queue::ItemResult {
            exit_status: ExitStatus::Interrupted,
            run_uids: vec![],
            scan_ids: vec![],
            time_start,
            time_stop: now,
            msg: msg.into(),
            traceback: String::new(),
        });
        sqlx::query(
            "UPDATE dispatches SET status = 'interrupted', item = ?, updated_at = ?, finished_at = ?, exit_msg = ?, \
             in_history = 1 WHERE uid = ?",
        )
        .bind(to_json(&item))
        .bind(now)
        .bind(now)
        .bind(msg)
        .bind(&uid)
        .execute(&mut *tx)
        .await?;
        log_status(&mut tx, &uid, "interrupted", now, msg).await?;
        if kind == "queue" {
            let front: Option<f64> = sqlx::query_scalar("SELECT MIN(position) FROM queue_items")
                .fetch_one(&mut *tx)
                .await?;
            let mut copy = item.clone();
            copy.item_uid = uuid::Uuid::new_v4().to_string();
            sqlx::query("INSERT INTO queue_items (item_uid, position, item) VALUES (?, ?, ?)")
                .bind(&copy.item_uid)
                .bind(front.unwrap_or(0.0) - 1024.0)
                .bind(to_json(&copy))
                .execute(&mut *tx)
                .await?;
        }
        recovered.push(item.item_uid.clone());
    }
    tx.commit().await?;
    Ok(recovered)
}
