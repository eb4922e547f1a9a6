-- hutch's first schema: one row per server start, so that later features (recovery after a
-- crash, the dispatch log) can tell which process did what.
CREATE TABLE server_starts (
    id         INTEGER PRIMARY KEY,
    started_at TEXT    NOT NULL, -- RFC 3339 UTC
    version    TEXT    NOT NULL,
    pid        INTEGER NOT NULL
);
