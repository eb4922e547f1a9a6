//! Users, API keys and sessions in the database. Shared by the server and the `hutch user` /
//! `hutch apikey` commands, which open the same database.
//!
//! Passwords are stored as argon2id PHC strings; API keys and session ids are random 64-hex-digit
//! secrets stored only as their SHA-256 (they are long and random, so a slow hash buys nothing and
//! would cost every request).

mod keys;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Row, SqlitePool};

pub use keys::{effective, kiosk_scopes, KeyInfo, KeyRecord};

use super::scopes::Role;

/// How long a browser session lasts.
pub const SESSION_DAYS: i64 = 7;
pub const MIN_PASSWORD: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

#[derive(Clone, Debug, Serialize)]
pub struct User {
    pub name: String,
    #[serde(serialize_with = "role_str")]
    pub role: Role,
    pub user_group: String,
    pub disabled: bool,
    pub created_at: String,
}

fn role_str<S: serde::Serializer>(r: &Role, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(r.as_str())
}

/// A 64-hex-digit random secret (256 bits from the OS generator).
pub fn new_secret() -> String {
    super::secret::random_hex(32)
}

pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn hash_password(password: &str) -> Result<String, StoreError> {
    check_password(password)?;
    let salt = SaltString::encode_b64(&super::secret::random_salt())
        .map_err(|e| StoreError::Invalid(format!("cannot make a salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("cannot hash the password: {e}")))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn check_password(password: &str) -> Result<(), StoreError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(StoreError::Invalid(format!(
            "the password must have at least {MIN_PASSWORD} characters"
        )));
    }
    Ok(())
}

pub fn check_name(name: &str, what: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "{what} '{name}' is not allowed: use 1 to 64 letters, digits and _ . - @"
        )))
    }
}

fn now() -> String {
    crate::clock::Timestamp::now().record()
}

fn user_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<User, StoreError> {
    let role: String = row.get("role");
    Ok(User {
        name: row.get("name"),
        role: Role::parse_user_role(&role).map_err(StoreError::Invalid)?,
        user_group: row.get("user_group"),
        disabled: row.get::<i64, _>("disabled") != 0,
        created_at: row.get("created_at"),
    })
}

#[derive(Clone)]
pub struct Store {
    db: SqlitePool,
}

impl Store {
    pub fn new(db: SqlitePool) -> Self {
        Store { db }
    }

    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        group: &str,
        password: &str,
    ) -> Result<User, StoreError> {
        check_name(name, "the user name")?;
        check_name(group, "the group name")?;
        let hash = hash_password(password)?;
        let at = now();
        let done = sqlx::query(
            "INSERT INTO users (name, role, user_group, password_hash, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(group)
        .bind(&hash)
        .bind(&at)
        .bind(&at)
        .execute(&self.db)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "there is already a user '{name}'; change them with `hutch user passwd` or PUT /api/auth/users/{name}"
            )));
        }
        self.user(name).await
    }

    pub async fn user(&self, name: &str) -> Result<User, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no user '{name}'")))?;
        user_from_row(&row)
    }

    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        sqlx::query("SELECT * FROM users ORDER BY name")
            .fetch_all(&self.db)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    pub async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&self.db)
            .await?)
    }

    /// Changes a user; a new password or disabling also ends their sessions.
    pub async fn update_user(
        &self,
        name: &str,
        role: Option<Role>,
        group: Option<&str>,
        password: Option<&str>,
        disabled: Option<bool>,
    ) -> Result<User, StoreError> {
        let user = self.user(name).await?;
        if let Some(g) = group {
            check_name(g, "the group name")?;
        }
        let hash = password.map(hash_password).transpose()?;
        let mut tx = self.db.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE users SET role = ?, user_group = ?, password_hash = coalesce(?, password_hash),
             disabled = ?, updated_at = ? WHERE name = ?",
        )
        .bind(role.unwrap_or(user.role).as_str())
        .bind(group.unwrap_or(&user.user_group))
        .bind(hash.as_deref())
        .bind(i64::from(disabled.unwrap_or(user.disabled)))
        .bind(now())
        .bind(name)
        .execute(&mut *tx)
        .await?;
        if password.is_some() || disabled == Some(true) {
            sqlx::query("DELETE FROM sessions WHERE user = ?")
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.user(name).await
    }

    /// The user if the password is theirs and they are not disabled. Takes as long for an
    /// unknown name as for a wrong password, so names cannot be probed by timing.
    pub async fn check_login(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.db)
            .await?;
        let hash: Option<String> = row.as_ref().map(|r| r.get("password_hash"));
        let password = password.to_string();
        // Each check takes ~19 MiB and a core for a moment: at most a few at once.
        static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
        let _slot = CHECKS
            .acquire()
            .await
            .map_err(|_| StoreError::Invalid("shutting down".into()))?;
        let ok = tokio::task::spawn_blocking(move || match hash {
            Some(h) => verify_password(&h, &password),
            None => {
                let _ = verify_password(dummy_hash(), &password);
                false
            }
        })
        .await
        .unwrap_or(false);
        match row {
            Some(r) if ok => {
                let user = user_from_row(&r)?;
                Ok((!user.disabled).then_some(user))
            }
            _ => Ok(None),
        }
    }

    /// A new session: (cookie value, CSRF token).
    pub async fn create_session(&self, user: &str) -> Result<(String, String), StoreError> {
        let (id, csrf) = (new_secret(), new_secret());
        let created = Utc::now();
        sqlx::query(
            "INSERT INTO sessions (digest, user, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(digest(&id))
        .bind(user)
        .bind(&csrf)
        .bind(created.to_rfc3339())
        .bind((created + Duration::days(SESSION_DAYS)).to_rfc3339())
        .execute(&self.db)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at < ?")
            .bind(created.to_rfc3339())
            .execute(&self.db)
            .await?;
        Ok((id, csrf))
    }

    /// The signed-in user and the session's CSRF token, if the session is live.
    pub async fn session(&self, id: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.*, s.csrf, s.expires_at AS s_expires FROM sessions s JOIN users u ON u.name = s.user
             WHERE s.digest = ?",
        )
        .bind(digest(id))
        .fetch_optional(&self.db)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let live = DateTime::parse_from_rfc3339(row.get::<&str, _>("s_expires"))
            .is_ok_and(|e| e > Utc::now());
        let user = user_from_row(&row)?;
        Ok((live && !user.disabled).then(|| (user, row.get("csrf"))))
    }

    pub async fn end_session(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE digest = ?")
            .bind(digest(id))
            .execute(&self.db)
            .await?;
        Ok(())
    }
}

/// Verified against when the user does not exist, so both cases cost one argon2 run.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such user here").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_and_short_ones_are_refused() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct hors"));
        assert!(hash_password("short").is_err());
        assert!(!verify_password(dummy_hash(), "anything"));
        assert!(PasswordHash::new(dummy_hash()).is_ok());
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("ann.lee@bl1", "n").is_ok());
        assert!(check_name("", "n").is_err());
        assert!(check_name("a b", "n").is_err());
    }
}
