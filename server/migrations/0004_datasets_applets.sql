-- Datasets (the persistent ones; the others live in memory only) and applets with every
-- version ever saved, the per-group policy for experiment-created applets, and what a mirror
-- import could not apply.

CREATE TABLE datasets (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,               -- JSON
    meta       TEXT NOT NULL DEFAULT '{}',  -- JSON: unit, precision, description
    set_by     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL
);

CREATE TABLE applets (
    uid         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    grp         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    spec        TEXT NOT NULL,  -- JSON
    version     INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    auto_enable INTEGER NOT NULL DEFAULT 0,
    UNIQUE (grp, name)
);

CREATE TABLE applet_versions (
    uid         TEXT NOT NULL,
    version     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    grp         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    auto_enable INTEGER NOT NULL DEFAULT 0,
    deleted     INTEGER NOT NULL DEFAULT 0,  -- this version is the applet's deletion
    PRIMARY KEY (uid, version)
) WITHOUT ROWID;

CREATE TABLE applet_groups (
    name   TEXT PRIMARY KEY,
    policy TEXT NOT NULL CHECK (policy IN ('ignore', 'create', 'create_enable'))
);

CREATE TABLE mirror_conflicts (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    file    TEXT NOT NULL,
    msg     TEXT NOT NULL,
    content TEXT NOT NULL  -- the file's side, kept so that nothing is lost
);
