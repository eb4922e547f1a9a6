//! API keys in the database: creating, listing, revoking and looking up a presented key, and the
//! scopes a key really has (within what its owner has today).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{digest, new_secret, now, Store, StoreError};
use crate::auth::scopes;

/// An API key as listed (never the key itself).
#[derive(Clone, Debug, Serialize)]
pub struct KeyInfo {
    pub first_eight: String,
    pub owner: String,
    pub kind: String,
    pub scopes: Vec<String>,
    pub note: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used: Option<String>,
}

/// What a presented key turned out to be.
#[derive(Clone, Debug)]
pub struct KeyRecord {
    pub owner: String,
    pub kind: String,
    pub scopes: Vec<String>,
    pub expired: bool,
    pub revoked: bool,
}

impl Store {
    pub async fn create_key(
        &self,
        owner: &str,
        kind: &str,
        scopes: &[&str],
        note: &str,
        expires_in: Option<Duration>,
    ) -> Result<(String, KeyInfo), StoreError> {
        let key = new_secret();
        let created = Utc::now();
        let expires = expires_in.map(|d| (created + d).to_rfc3339());
        let scopes_json = serde_json::to_string(scopes).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO api_keys (digest, first_eight, owner, kind, scopes, note, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(digest(&key))
        .bind(&key[..8])
        .bind(owner)
        .bind(kind)
        .bind(&scopes_json)
        .bind(note)
        .bind(created.to_rfc3339())
        .bind(&expires)
        .execute(&self.db)
        .await?;
        let info = KeyInfo {
            first_eight: key[..8].to_string(),
            owner: owner.into(),
            kind: kind.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            note: note.into(),
            created_at: created.to_rfc3339(),
            expires_at: expires,
            revoked_at: None,
            last_used: None,
        };
        Ok((key, info))
    }

    pub async fn keys(&self, owner: Option<&str>) -> Result<Vec<KeyInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM api_keys WHERE (?1 IS NULL OR owner = ?1) ORDER BY created_at",
        )
        .bind(owner)
        .fetch_all(&self.db)
        .await?;
        Ok(rows
            .iter()
            .map(|r| KeyInfo {
                first_eight: r.get("first_eight"),
                owner: r.get("owner"),
                kind: r.get("kind"),
                scopes: serde_json::from_str(r.get::<&str, _>("scopes")).unwrap_or_default(),
                note: r.get("note"),
                created_at: r.get("created_at"),
                expires_at: r.get("expires_at"),
                revoked_at: r.get("revoked_at"),
                last_used: r.get("last_used"),
            })
            .collect())
    }

    /// Revokes the keys starting with `first_eight` (of `owner` only, when given).
    pub async fn revoke(&self, first_eight: &str, owner: Option<&str>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = ? WHERE first_eight = ? AND revoked_at IS NULL
             AND (?3 IS NULL OR owner = ?3)",
        )
        .bind(now())
        .bind(first_eight)
        .bind(owner)
        .execute(&self.db)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "no active API key starts with '{first_eight}'{}",
                if owner.is_some() { " among yours" } else { "" }
            )));
        }
        Ok(done.rows_affected())
    }

    pub async fn lookup_key(&self, key: &str) -> Result<Option<KeyRecord>, StoreError> {
        let d = digest(key);
        let Some(row) = sqlx::query("SELECT * FROM api_keys WHERE digest = ?")
            .bind(&d)
            .fetch_optional(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let expires: Option<String> = row.get("expires_at");
        let expired = expires
            .and_then(|e| DateTime::parse_from_rfc3339(&e).ok())
            .is_some_and(|e| e < Utc::now());
        let last_used: Option<String> = row.get("last_used");
        let stale = last_used
            .and_then(|e| DateTime::parse_from_rfc3339(&e).ok())
            .is_none_or(|t| Utc::now() - t.with_timezone(&Utc) > Duration::minutes(1));
        if stale {
            // At most once a minute, so a busy publisher does not write on every request.
            sqlx::query("UPDATE api_keys SET last_used = ? WHERE digest = ?")
                .bind(now())
                .bind(&d)
                .execute(&self.db)
                .await?;
        }
        Ok(Some(KeyRecord {
            owner: row.get("owner"),
            kind: row.get("kind"),
            scopes: serde_json::from_str(row.get::<&str, _>("scopes")).unwrap_or_default(),
            expired,
            revoked: row.get::<Option<String>, _>("revoked_at").is_some(),
        }))
    }
}

/// Scopes a user-kind key really has now: what it was given, within what its owner has today.
pub fn effective(record: &KeyRecord, owner_scopes: &[&'static str]) -> Vec<&'static str> {
    owner_scopes
        .iter()
        .copied()
        .filter(|s| record.scopes.iter().any(|k| k == s))
        .collect()
}

/// Scopes of a kiosk key: what it was given, never more than [`scopes::KIOSK`].
pub fn kiosk_scopes(record: &KeyRecord) -> Vec<&'static str> {
    effective(record, scopes::KIOSK)
}
