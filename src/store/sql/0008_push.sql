-- 0008: writing back to the PSA (`reconcile push`). Append-only: never edit this file once
-- released; add 0009_*.sql.
--
-- push_opt_in is user data, like the mappings: which services' mappings write their quantity
-- (and unit cost) to the PSA. push_plan and push_line are the saved plans; push_audit is the
-- append-only record of every line an apply touched. None of them holds a secret.
CREATE TABLE push_opt_in (
    vendor_connection TEXT NOT NULL,
    service_key       TEXT NOT NULL,
    push              INTEGER NOT NULL DEFAULT 0,
    push_cost         INTEGER NOT NULL DEFAULT 0,
    set_at            TEXT NOT NULL,
    PRIMARY KEY (vendor_connection, service_key)
);

CREATE TABLE push_plan (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    operator    TEXT NOT NULL,
    -- The plan this one reverts, for `push revert`.
    reverts     INTEGER REFERENCES push_plan (id),
    -- The whole plan as JSON (lines, before values, targets, guards): what apply writes from.
    body        TEXT NOT NULL
);

CREATE TABLE push_audit (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             TEXT NOT NULL,
    operator       TEXT NOT NULL,
    tool_version   TEXT NOT NULL,
    plan_id        INTEGER NOT NULL REFERENCES push_plan (id),
    psa_connection TEXT NOT NULL,
    tenant         TEXT NOT NULL,
    company_id     TEXT,
    company        TEXT,
    agreement_id   TEXT NOT NULL,
    line_id        TEXT NOT NULL,
    product        TEXT NOT NULL,
    before_qty     TEXT,
    after_qty      TEXT NOT NULL,
    before_cost    TEXT,
    after_cost     TEXT,
    effective      TEXT NOT NULL,
    source         TEXT NOT NULL,
    guards         TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    http_status    INTEGER,
    returned_id    TEXT,
    read_back_qty  TEXT,
    read_back_cost TEXT,
    error          TEXT
);
CREATE INDEX push_audit_plan ON push_audit (plan_id);

-- One apply per PSA tenant at a time: the process holding it (a dead pid's lock is taken over).
CREATE TABLE push_lock (
    tenant     TEXT PRIMARY KEY,
    pid        INTEGER NOT NULL,
    plan_id    INTEGER NOT NULL,
    started_at TEXT NOT NULL
);
