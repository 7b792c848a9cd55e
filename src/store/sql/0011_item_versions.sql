-- 0011: usage items kept as versions, not copied into every snapshot. Append-only: never edit
-- this file once released; add 0012_*.sql.
--
-- Until now every sync stored every item again in usage_item (29.5 MB a day for 100,000
-- devices). Now an item is stored once per version: item_current holds each connection's
-- items as its newest successful sync saw them, from the run that first saw them so
-- (valid_from); when a sync no longer sees an item, or sees it changed (account, name, class,
-- pending flag, attributes), the version moves to item_past with the first run that did not
-- see it (valid_to). The items of run R are the versions with valid_from <= R < valid_to (or
-- still current). The fast-moving fields, last contact and online, are kept per run in
-- item_pulse (see src/store/pulse.rs). `raw` is the record as the vendor sent it when the
-- version was first seen: never read to reconcile.
--
-- usage_item stays, as the staging area of a sync still running: its rows are merged into the
-- versions when the run completes, and deleted when it fails. The rows of earlier runs are
-- converted by this migration (a step in Rust, in the same transaction as this SQL: a kill
-- leaves the old schema as it was).
CREATE TABLE item_current (
    connection       TEXT NOT NULL,
    id               TEXT NOT NULL,
    valid_from       INTEGER NOT NULL,
    account_id       TEXT NOT NULL,
    name             TEXT NOT NULL,
    class            TEXT NOT NULL,
    raw_class        TEXT NOT NULL,
    pending_approval INTEGER NOT NULL,
    attrs            TEXT NOT NULL DEFAULT '{}',
    raw              TEXT,
    PRIMARY KEY (connection, id)
) WITHOUT ROWID;

CREATE TABLE item_past (
    connection       TEXT NOT NULL,
    valid_to         INTEGER NOT NULL,
    id               TEXT NOT NULL,
    valid_from       INTEGER NOT NULL,
    account_id       TEXT NOT NULL,
    name             TEXT NOT NULL,
    class            TEXT NOT NULL,
    raw_class        TEXT NOT NULL,
    pending_approval INTEGER NOT NULL,
    attrs            TEXT NOT NULL DEFAULT '{}',
    raw              TEXT,
    PRIMARY KEY (connection, valid_to, id)
) WITHOUT ROWID;

-- items: how many items the run saw (the blob's count, checked when it is read).
CREATE TABLE item_pulse (
    run_id INTEGER PRIMARY KEY REFERENCES sync_run (id) ON DELETE CASCADE,
    items  INTEGER NOT NULL,
    data   BLOB NOT NULL
);

-- 1 when `reconcile db prune` dropped the run's records (its row stays: when it ran, how it
-- ended and what it counted).
ALTER TABLE sync_run ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
