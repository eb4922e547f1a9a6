-- The plans and devices each environment described when it last opened (its `ready` or
-- `catalog` message), so that plans/allowed, validation and the dashboard's forms work before
-- the environment is opened again, also after a restart.

CREATE TABLE environment_catalog (
    environment TEXT PRIMARY KEY,   -- the environment and its startup code, e.g. "bluesky, profile directory /x with python3"
    plans       TEXT NOT NULL,      -- JSON: bluesky-queueserver's existing plans
    devices     TEXT NOT NULL,      -- JSON: existing devices
    types       TEXT,               -- JSON: hutch's strict parameter types (simulated environment)
    updated_at  REAL NOT NULL       -- Unix seconds
);
