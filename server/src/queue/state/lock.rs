//! The lock (`lock`, `unlock`, `lock/info`): who holds it, what it guards, and the key checks of
//! guarded operations, with bluesky's messages.

use serde::{Deserialize, Serialize};

use super::{Change, Ctx, QueueState};

/// The lock, as `lock/info` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub key: String,
    pub environment: bool,
    pub queue: bool,
    pub user: String,
    pub time: f64,
    pub note: Option<String>,
}

/// Which lock flag guards an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    Queue,
    Environment,
}

impl QueueState {
    /// Refuses when the lock guards this operation and `key` is not the lock key.
    pub fn check_lock(&self, guard: Guard, key: Option<&str>) -> Result<(), String> {
        let Some(lock) = &self.lock else {
            return Ok(());
        };
        let guarded = match guard {
            Guard::Queue => lock.queue,
            Guard::Environment => lock.environment,
        };
        // Compared in constant time: the answer must not tell how much of a guess was right.
        if guarded && !key.is_some_and(|k| crate::auth::key_matches(k, &lock.key)) {
            return Err(format!("Invalid lock key: \n{}", self.lock_text()));
        }
        Ok(())
    }

    /// bluesky's multi-line description of the lock, used in rejection messages.
    pub fn lock_text(&self) -> String {
        let py = |b: bool| if b { "True" } else { "False" };
        match &self.lock {
            None => "RE Manager is not locked".into(),
            Some(l) => format!(
                "RE Manager is locked by {} at {}\nEnvironment is locked: {}\nQueue is locked:       {}\nEmergency lock key:    {}\nNote: {}",
                l.user,
                time_str(l.time),
                py(l.environment),
                py(l.queue),
                if self.emergency_key.is_some() { "set" } else { "not set" },
                l.note.as_deref().unwrap_or("---")
            ),
        }
    }

    pub fn lock(
        &mut self,
        key: &str,
        environment: bool,
        queue: bool,
        note: Option<String>,
        ctx: &Ctx,
    ) -> Result<(), String> {
        if key.is_empty() {
            return Err("Lock key is not set".into());
        }
        if !environment && !queue {
            return Err(format!(
                "Invalid option: environment and/or queue must be selected: environment={} queue={}",
                py_bool(environment),
                py_bool(queue)
            ));
        }
        if let Some(l) = &self.lock {
            if l.key != key {
                return Err(format!(
                    "RE Manager was locked with a different key: \n{}",
                    self.lock_text()
                ));
            }
        }
        self.lock = Some(Lock {
            key: key.into(),
            environment,
            queue,
            user: ctx.user.into(),
            time: ctx.now,
            note,
        });
        self.changes.push(Change::Settings);
        Ok(())
    }

    pub fn unlock(&mut self, key: &str) -> Result<(), String> {
        let Some(lock) = &self.lock else {
            return Ok(());
        };
        let emergency = self
            .emergency_key
            .as_deref()
            .is_some_and(|e| crate::auth::key_matches(key, e));
        if !crate::auth::key_matches(key, &lock.key) && !emergency {
            return Err(format!("Invalid lock key: \n{}", self.lock_text()));
        }
        self.lock = None;
        self.changes.push(Change::Settings);
        Ok(())
    }

    /// Removes the lock whatever its key (staff, via `POST /api/lock/break`); says whether there
    /// was one.
    pub fn break_lock(&mut self) -> bool {
        let had = self.lock.take().is_some();
        if had {
            self.changes.push(Change::Settings);
        }
        had
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// `%m/%d/%Y %H:%M:%S` of a Unix time, in UTC.
pub fn time_str(t: f64) -> String {
    chrono::DateTime::from_timestamp(t as i64, 0)
        .map(|d| d.format("%m/%d/%Y %H:%M:%S").to_string())
        .unwrap_or_default()
}
