//! The store's mirror of the queue order and the REAL positions of `queue_items`: where a new or
//! moved item goes, renumbering when a gap is exhausted, and the one-statement common edits.

use sqlx::{Sqlite, Transaction};

use super::{to_json, Store};
use crate::queue::state::Change;

impl Store {
    pub(super) fn forget(&mut self, uid: &str) {
        self.order.retain(|u| u != uid);
        self.positions.remove(uid);
    }

    /// The clamped index and, if there is room between the neighbours, the position for an item
    /// put at `index` of the mirror.
    pub(super) fn slot(&self, index: usize) -> (usize, Option<f64>) {
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
    pub(super) async fn apply_single(&mut self, change: &Change) -> Result<bool, sqlx::Error> {
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
    pub(super) async fn place(
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
pub(super) async fn flush_inserts(
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
