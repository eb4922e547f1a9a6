-- Runs and their bluesky documents. Events get a table of their own (the bulk of the data, read
-- by stream and field); every other document is kept whole in run_documents. `seq` is the
-- document's place in its run's emission order, shared by both tables, so a run can be
-- exported exactly as it was emitted.

CREATE TABLE runs (
    uid          TEXT PRIMARY KEY,
    dispatch_uid TEXT REFERENCES dispatches (uid) ON DELETE SET NULL,
    plan_name    TEXT NOT NULL DEFAULT '',
    scan_id      INTEGER,
    time_start   REAL NOT NULL,
    time_stop    REAL,
    exit_status  TEXT,                      -- from the stop document; NULL while open
    num_events   TEXT NOT NULL DEFAULT '{}', -- stream name -> events stored
    doc_count    INTEGER NOT NULL DEFAULT 0  -- documents stored = the next seq
);
CREATE INDEX runs_by_time ON runs (time_start, uid);
CREATE INDEX runs_by_plan ON runs (plan_name, time_start);
CREATE INDEX runs_by_status ON runs (exit_status, time_start);
CREATE INDEX runs_by_dispatch ON runs (dispatch_uid);

CREATE TABLE run_documents (
    run_uid TEXT    NOT NULL REFERENCES runs (uid) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    name    TEXT    NOT NULL,  -- start, descriptor, resource, datum, stop, ...
    uid     TEXT,              -- the document's uid / datum_id, for the uniqueness check
    doc     TEXT    NOT NULL,
    PRIMARY KEY (run_uid, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX run_documents_by_uid ON run_documents (uid) WHERE uid IS NOT NULL;

CREATE TABLE descriptors (
    uid     TEXT PRIMARY KEY,
    run_uid TEXT NOT NULL REFERENCES runs (uid) ON DELETE CASCADE,
    name    TEXT NOT NULL  -- the stream: primary, baseline, ...
);
CREATE INDEX descriptors_by_run ON descriptors (run_uid, name);

CREATE TABLE events (
    descriptor_uid TEXT    NOT NULL REFERENCES descriptors (uid) ON DELETE CASCADE,
    seq_num        INTEGER NOT NULL,
    run_seq        INTEGER NOT NULL,  -- place in the run's document order
    uid            TEXT    NOT NULL,
    time           REAL    NOT NULL,
    data           TEXT    NOT NULL,  -- JSON object; large numeric arrays replaced by {"$array": i}
    arrays         BLOB,              -- those arrays, packed (see runs/arrays.rs)
    timestamps     TEXT    NOT NULL,  -- JSON object
    filled         TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (descriptor_uid, seq_num)
) WITHOUT ROWID;
CREATE UNIQUE INDEX events_by_uid ON events (uid);

-- The time-range filter of /api/dispatches.
CREATE INDEX dispatches_by_created ON dispatches (created_at);

-- Free text over the plan name and the item (parameters, metadata) for /api/dispatches?q=,
-- kept in step with dispatches by triggers.
CREATE VIRTUAL TABLE dispatch_text USING fts5 (plan_name, item, content = 'dispatches', content_rowid = 'id');
INSERT INTO dispatch_text (dispatch_text) VALUES ('rebuild');
CREATE TRIGGER dispatch_text_insert AFTER INSERT ON dispatches BEGIN
    INSERT INTO dispatch_text (rowid, plan_name, item) VALUES (new.id, new.plan_name, new.item);
END;
CREATE TRIGGER dispatch_text_delete AFTER DELETE ON dispatches BEGIN
    INSERT INTO dispatch_text (dispatch_text, rowid, plan_name, item) VALUES ('delete', old.id, old.plan_name, old.item);
END;
CREATE TRIGGER dispatch_text_update AFTER UPDATE OF plan_name, item ON dispatches BEGIN
    INSERT INTO dispatch_text (dispatch_text, rowid, plan_name, item) VALUES ('delete', old.id, old.plan_name, old.item);
    INSERT INTO dispatch_text (rowid, plan_name, item) VALUES (new.id, new.plan_name, new.item);
END;
