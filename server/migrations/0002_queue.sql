-- The plan queue, the dispatch log (one row per execution; history is the rows marked
-- in_history) with every status change, and the manager's persistent settings.

CREATE TABLE queue_items (
    item_uid TEXT PRIMARY KEY,
    position REAL NOT NULL,  -- order of the queue; gaps let an insert touch one row
    item     TEXT NOT NULL   -- the queue item as JSON
);
CREATE INDEX queue_items_by_position ON queue_items (position);

CREATE TABLE dispatches (
    id          INTEGER PRIMARY KEY,
    uid         TEXT    NOT NULL UNIQUE,
    item_uid    TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('queue', 'immediate', 'external')),
    item        TEXT    NOT NULL,  -- the item as it ran, JSON
    plan_name   TEXT    NOT NULL,
    user        TEXT    NOT NULL,
    user_group  TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'paused', 'completed', 'failed',
                                                   'stopped', 'aborted', 'halted', 'interrupted')),
    created_at  REAL    NOT NULL,  -- Unix seconds
    started_at  REAL,
    updated_at  REAL    NOT NULL,
    finished_at REAL,
    exit_msg    TEXT    NOT NULL DEFAULT '',
    traceback   TEXT    NOT NULL DEFAULT '',
    run_uids    TEXT    NOT NULL DEFAULT '[]',  -- JSON array
    scan_ids    TEXT    NOT NULL DEFAULT '[]',  -- JSON array
    in_history  INTEGER NOT NULL DEFAULT 0      -- shown by history/get until history/clear
);
CREATE INDEX dispatches_history ON dispatches (in_history, finished_at, id);
CREATE INDEX dispatches_by_status ON dispatches (status, id);
CREATE INDEX dispatches_by_plan ON dispatches (plan_name, id);
CREATE INDEX dispatches_by_user ON dispatches (user, id);
CREATE INDEX dispatches_by_item ON dispatches (item_uid);

CREATE TABLE dispatch_status_log (
    id           INTEGER PRIMARY KEY,
    dispatch_uid TEXT NOT NULL REFERENCES dispatches (uid) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    at           REAL NOT NULL,
    msg          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX dispatch_status_log_by_dispatch ON dispatch_status_log (dispatch_uid, id);

CREATE TABLE manager_settings (
    key   TEXT PRIMARY KEY,  -- 'mode', 'autostart', 'lock', 'next_scan_id'
    value TEXT NOT NULL      -- JSON
);
