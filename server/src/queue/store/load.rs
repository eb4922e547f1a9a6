//! Start-up: reading the stored queue, history and settings (and re-reading them after a failed
//! commit), and first recovering the executions a previous process left running.

use std::collections::HashMap;

use hutch_app::model::queue::{ExitStatus, QueueItem};
use sqlx::SqlitePool;

use super::{log_status, to_json, Loaded, Store};

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
}

/// The stored queue (with the order's positions), history and settings.
#[allow(clippy::type_complexity)]
async fn read(
    pool: &SqlitePool,
    interrupted: Vec<(String, String)>,
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

/// Executions left `running`/`paused` by a previous process become `interrupted` history
/// entries; a copy of a queue item goes back to the front of the queue. One transaction.
/// Returns each recovered item's uid with its dispatch's.
async fn recover(pool: &SqlitePool, now: f64) -> Result<Vec<(String, String)>, sqlx::Error> {
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
        recovered.push((item.item_uid.clone(), uid));
    }
    tx.commit().await?;
    Ok(recovered)
}
