-- Users, API keys, browser sessions and the audit log (docs/security.md).
-- Secrets are never stored: passwords as argon2id PHC strings, keys and session ids as SHA-256.

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,          -- admin | operator | observer
    user_group    TEXT NOT NULL,
    password_hash TEXT NOT NULL,          -- argon2id, PHC string
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE api_keys (
    digest      TEXT PRIMARY KEY,         -- SHA-256 of the key, hex
    first_eight TEXT NOT NULL,            -- the key's first 8 characters, to name it
    owner       TEXT NOT NULL,            -- a user name, or the single user, or kiosk:<name>
    kind        TEXT NOT NULL,            -- user | kiosk
    scopes      TEXT NOT NULL,            -- JSON list
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    expires_at  TEXT,                     -- RFC 3339; NULL = never
    revoked_at  TEXT,
    last_used   TEXT
);
CREATE INDEX api_keys_owner ON api_keys (owner);

CREATE TABLE sessions (
    digest      TEXT PRIMARY KEY,         -- SHA-256 of the cookie value, hex
    user        TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    user     TEXT NOT NULL,
    role     TEXT NOT NULL,
    action   TEXT NOT NULL,               -- e.g. "POST /api/queue/item/add", "cli user add"
    status   INTEGER NOT NULL,            -- HTTP status of the reply (0 for the CLI)
    source   TEXT NOT NULL,               -- peer address, forwarded-for, or "cli"
    detail   TEXT NOT NULL DEFAULT ''     -- the request body (secrets redacted) or a summary
);
CREATE INDEX audit_user ON audit (user, id);
