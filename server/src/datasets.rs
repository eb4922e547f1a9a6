//! Datasets: every dataset in memory, the persistent ones also in SQLite and in the
//! `datasets.json` mirror. One async lock serialises changes, so the database, the mirror and
//! the `datasets` topic always see them in the same order.

use std::collections::BTreeMap;
use std::sync::Arc;

use hutch_app::model::datasets::{
    validate_key, validate_value, Dataset, DatasetDelta, DatasetMeta,
};
use hutch_app::model::stream::Topic;
use serde_json::{json, Value};
use sqlx::SqlitePool;
use tokio::sync::Mutex;

use crate::hub::Hub;
use crate::mirror::Mirror;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{0}")]
    Invalid(String),
    #[error("there is no dataset '{0}'")]
    NotFound(String),
    #[error("the database refused the change: {0}")]
    Db(#[from] sqlx::Error),
}

/// A change to one dataset.
#[derive(Debug, Default)]
pub struct SetRequest {
    pub value: Value,
    /// Kept from the current dataset where `None`.
    pub meta: Option<DatasetMeta>,
    /// Kept from the current dataset (or `false` for a new one) where `None`.
    pub persist: Option<bool>,
}

#[derive(Clone)]
pub struct Datasets {
    inner: Arc<Mutex<BTreeMap<String, Dataset>>>,
    db: SqlitePool,
    hub: Hub,
    mirror: Option<Mirror>,
}

fn now() -> String {
    crate::clock::Timestamp::now().reply()
}

impl Datasets {
    /// Loads the persistent datasets and publishes the `datasets` snapshot.
    pub async fn load(
        db: SqlitePool,
        hub: Hub,
        mirror: Option<Mirror>,
    ) -> Result<Self, sqlx::Error> {
        let rows: Vec<(String, String, String, String, String, i64)> =
            sqlx::query_as("SELECT key, value, meta, set_by, updated_at, version FROM datasets")
                .fetch_all(&db)
                .await?;
        let map = rows
            .into_iter()
            .map(|(key, value, meta, set_by, updated_at, version)| {
                let d = Dataset {
                    key: key.clone(),
                    value: serde_json::from_str(&value).unwrap_or(Value::Null),
                    meta: serde_json::from_str(&meta).unwrap_or_default(),
                    persist: true,
                    set_by,
                    updated_at,
                    version,
                };
                (key, d)
            })
            .collect();
        let this = Datasets {
            inner: Arc::new(Mutex::new(map)),
            db,
            hub,
            mirror,
        };
        let all = this.inner.lock().await;
        this.publish_locked(&all, None, true);
        drop(all);
        Ok(this)
    }

    pub async fn list(&self, prefix: &str) -> Vec<Dataset> {
        let all = self.inner.lock().await;
        all.range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, d)| d.clone())
            .collect()
    }

    pub async fn get(&self, key: &str) -> Option<Dataset> {
        self.inner.lock().await.get(key).cloned()
    }

    /// Creates or replaces a dataset.
    pub async fn set(&self, key: &str, req: SetRequest, by: &str) -> Result<Dataset, DatasetError> {
        validate_key(key).map_err(DatasetError::Invalid)?;
        validate_value(&req.value).map_err(DatasetError::Invalid)?;
        let mut all = self.inner.lock().await;
        let old = all.get(key);
        let d = Dataset {
            key: key.to_string(),
            value: req.value,
            meta: req
                .meta
                .or_else(|| old.map(|o| o.meta.clone()))
                .unwrap_or_default(),
            persist: req.persist.or(old.map(|o| o.persist)).unwrap_or(false),
            set_by: by.to_string(),
            updated_at: now(),
            version: old.map_or(1, |o| o.version + 1),
        };
        let was_persistent = old.is_some_and(|o| o.persist);
        self.store(&d, was_persistent).await?;
        all.insert(key.to_string(), d.clone());
        let persistent = d.persist || was_persistent;
        self.publish_locked(
            &all,
            Some(DatasetDelta::Set {
                dataset: Box::new(d.clone()),
            }),
            persistent,
        );
        Ok(d)
    }

    /// Appends values to a list dataset (creating an empty, non-persistent one if missing).
    pub async fn append(
        &self,
        key: &str,
        values: Vec<Value>,
        by: &str,
    ) -> Result<Dataset, DatasetError> {
        validate_key(key).map_err(DatasetError::Invalid)?;
        validate_value(&Value::Array(values.clone())).map_err(DatasetError::Invalid)?;
        let mut all = self.inner.lock().await;
        let mut d = all.get(key).cloned().unwrap_or_else(|| Dataset {
            key: key.to_string(),
            value: json!([]),
            meta: DatasetMeta::default(),
            persist: false,
            set_by: String::new(),
            updated_at: String::new(),
            version: 0,
        });
        let Some(list) = d.value.as_array_mut() else {
            return Err(DatasetError::Invalid(format!(
                "dataset '{key}' holds a single value, not a list; set it to a list first"
            )));
        };
        list.extend(values.iter().cloned());
        validate_value(&d.value)
            .map_err(|e| DatasetError::Invalid(format!("after the append: {e}")))?;
        d.set_by = by.to_string();
        d.updated_at = now();
        d.version += 1;
        self.store(&d, d.persist).await?;
        let delta = DatasetDelta::Append {
            key: key.to_string(),
            values,
            version: d.version,
            set_by: d.set_by.clone(),
            updated_at: d.updated_at.clone(),
        };
        all.insert(key.to_string(), d.clone());
        self.publish_locked(&all, Some(delta), d.persist);
        Ok(d)
    }

    /// Replaces one element: `index` `[i]` of a list or `[row, column]` of a 2-D array.
    pub async fn set_element(
        &self,
        key: &str,
        index: Vec<usize>,
        value: Value,
        by: &str,
    ) -> Result<Dataset, DatasetError> {
        let mut all = self.inner.lock().await;
        let mut d = all
            .get(key)
            .cloned()
            .ok_or_else(|| DatasetError::NotFound(key.to_string()))?;
        let slot = match index.as_slice() {
            [i] => d.value.get_mut(*i),
            [r, c] => d.value.get_mut(*r).and_then(|row| row.get_mut(*c)),
            _ => {
                return Err(DatasetError::Invalid(
                    "'index' must be [i] for a list or [row, column] for a 2-D array".into(),
                ))
            }
        };
        let Some(slot) = slot else {
            return Err(DatasetError::Invalid(format!(
                "index {index:?} is outside dataset '{key}'"
            )));
        };
        if slot.is_array() {
            return Err(DatasetError::Invalid(format!(
                "index {index:?} names a whole row of '{key}'; give [row, column]"
            )));
        }
        *slot = value.clone();
        validate_value(&d.value).map_err(DatasetError::Invalid)?;
        d.set_by = by.to_string();
        d.updated_at = now();
        d.version += 1;
        self.store(&d, d.persist).await?;
        let delta = DatasetDelta::SetElement {
            key: key.to_string(),
            index,
            value,
            version: d.version,
            set_by: d.set_by.clone(),
            updated_at: d.updated_at.clone(),
        };
        all.insert(key.to_string(), d.clone());
        self.publish_locked(&all, Some(delta), d.persist);
        Ok(d)
    }

    pub async fn delete(&self, key: &str) -> Result<Dataset, DatasetError> {
        let mut all = self.inner.lock().await;
        let d = all
            .get(key)
            .cloned()
            .ok_or_else(|| DatasetError::NotFound(key.to_string()))?;
        if d.persist {
            sqlx::query("DELETE FROM datasets WHERE key = ?")
                .bind(key)
                .execute(&self.db)
                .await?;
        }
        all.remove(key);
        self.publish_locked(
            &all,
            Some(DatasetDelta::Delete {
                key: key.to_string(),
            }),
            d.persist,
        );
        Ok(d)
    }

    /// Applies the persistent datasets of a mirror file: what differs is set (by `by`), persistent
    /// datasets missing from the file are deleted. Returns how many changed.
    pub async fn import(
        &self,
        wanted: BTreeMap<String, (Value, DatasetMeta)>,
        by: &str,
    ) -> Result<usize, DatasetError> {
        for (key, (value, _)) in &wanted {
            validate_key(key).map_err(DatasetError::Invalid)?;
            validate_value(value)
                .map_err(|e| DatasetError::Invalid(format!("dataset '{key}': {e}")))?;
        }
        let current: Vec<Dataset> = self
            .inner
            .lock()
            .await
            .values()
            .filter(|d| d.persist)
            .cloned()
            .collect();
        let mut changed = 0;
        for d in current.iter().filter(|d| !wanted.contains_key(&d.key)) {
            self.delete(&d.key).await?;
            changed += 1;
        }
        for (key, (value, meta)) in wanted {
            let same = current
                .iter()
                .any(|d| d.key == key && d.value == value && d.meta == meta);
            if !same {
                let req = SetRequest {
                    value,
                    meta: Some(meta),
                    persist: Some(true),
                };
                self.set(&key, req, by).await?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    async fn store(&self, d: &Dataset, was_persistent: bool) -> Result<(), sqlx::Error> {
        if d.persist {
            sqlx::query(
                "INSERT INTO datasets (key, value, meta, set_by, updated_at, version) VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, meta = excluded.meta, \
                 set_by = excluded.set_by, updated_at = excluded.updated_at, version = excluded.version",
            )
            .bind(&d.key)
            .bind(d.value.to_string())
            .bind(json!(d.meta).to_string())
            .bind(&d.set_by)
            .bind(&d.updated_at)
            .bind(d.version)
            .execute(&self.db)
            .await?;
        } else if was_persistent {
            sqlx::query("DELETE FROM datasets WHERE key = ?")
                .bind(&d.key)
                .execute(&self.db)
                .await?;
        }
        Ok(())
    }

    /// Publishes the change (with the whole set as the new snapshot) and, if it concerns a
    /// persistent dataset, rewrites the mirror.
    fn publish_locked(
        &self,
        all: &BTreeMap<String, Dataset>,
        delta: Option<DatasetDelta>,
        persistent: bool,
    ) {
        let snapshot = json!({"datasets": all.values().collect::<Vec<_>>()});
        let delta = json!(delta.unwrap_or(DatasetDelta::Reset));
        self.hub
            .publish_with_snapshot(Topic::Datasets, delta, snapshot);
        if let (Some(m), true) = (&self.mirror, persistent) {
            m.write(mirror_text(all));
        }
    }
}

/// The `datasets.json` mirror: the persistent datasets by key.
pub fn mirror_text(all: &BTreeMap<String, Dataset>) -> String {
    let datasets: BTreeMap<&String, Value> = all
        .iter()
        .filter(|(_, d)| d.persist)
        .map(|(k, d)| {
            let mut v = json!({"value": d.value, "set_by": d.set_by, "updated_at": d.updated_at, "version": d.version});
            if let (Some(obj), Value::Object(meta)) = (v.as_object_mut(), json!(d.meta)) {
                obj.extend(meta);
            }
            (k, v)
        })
        .collect();
    crate::mirror::pretty(&json!({"hutch_datasets": 1, "datasets": datasets}))
}

/// Reads a `datasets.json` mirror: key → (value, metadata). Errors say what to fix.
pub fn parse_mirror(text: &str) -> Result<BTreeMap<String, (Value, DatasetMeta)>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    if v["hutch_datasets"] != json!(1) {
        return Err("not a hutch datasets file: it needs \"hutch_datasets\": 1".into());
    }
    let Some(map) = v["datasets"].as_object() else {
        return Err("'datasets' must be an object of key → dataset".into());
    };
    map.iter()
        .map(|(k, d)| {
            let value = d.get("value").cloned().unwrap_or(Value::Null);
            let meta = DatasetMeta {
                unit: d["unit"].as_str().map(String::from),
                precision: d["precision"].as_u64().and_then(|p| u8::try_from(p).ok()),
                description: d["description"].as_str().map(String::from),
            };
            Ok((k.clone(), (value, meta)))
        })
        .collect()
}
