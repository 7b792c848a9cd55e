-- 0001: the first schema. Append-only: never edit this file once released; add 0002_*.sql.
--
-- Snapshot tables (sync_run and the records hanging off it) are a cache that a sync can rebuild.
-- account_map, service_map and the reconcile results are user data: no migration may drop them.

CREATE TABLE sync_run (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    connection  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
    error       TEXT,
    counts      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX sync_run_by_connection ON sync_run (connection, id);

-- The run whose records are the connection's current snapshot. Only a run that completed
-- becomes current, in the same transaction that wrote its records.
CREATE TABLE snapshot_current (
    connection  TEXT PRIMARY KEY,
    sync_run_id INTEGER NOT NULL REFERENCES sync_run (id) ON DELETE CASCADE
);

CREATE TABLE vendor_account (
    run_id INTEGER NOT NULL REFERENCES sync_run (id) ON DELETE CASCADE,
    id     TEXT NOT NULL,
    name   TEXT NOT NULL,
    raw    TEXT,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

CREATE TABLE usage_item (
    run_id           INTEGER NOT NULL REFERENCES sync_run (id) ON DELETE CASCADE,
    id               TEXT NOT NULL,
    account_id       TEXT NOT NULL,
    name             TEXT NOT NULL,
    class            TEXT NOT NULL,
    raw_class        TEXT NOT NULL,
    online           INTEGER,
    last_contact     TEXT,
    pending_approval INTEGER NOT NULL,
    attrs            TEXT NOT NULL DEFAULT '{}',
    raw              TEXT,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

CREATE TABLE psa_company (
    run_id              INTEGER NOT NULL REFERENCES sync_run (id) ON DELETE CASCADE,
    id                  TEXT NOT NULL,
    identifier          TEXT NOT NULL,
    name                TEXT NOT NULL,
    status              TEXT NOT NULL,
    types               TEXT NOT NULL DEFAULT '[]',
    billable            INTEGER NOT NULL,
    not_billable_reason TEXT,
    raw                 TEXT,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

CREATE TABLE psa_agreement (
    run_id         INTEGER NOT NULL REFERENCES sync_run (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    company_id     TEXT NOT NULL,
    name           TEXT NOT NULL,
    agreement_type TEXT,
    status         TEXT NOT NULL,
    start_at       TEXT,
    end_at         TEXT,
    cancelled      INTEGER NOT NULL,
    billing_cycle  TEXT,
    raw            TEXT,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

-- Quantities and money are stored as decimal strings: exact, never floating point.
CREATE TABLE psa_line (
    run_id             INTEGER NOT NULL REFERENCES sync_run (id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    agreement_id       TEXT NOT NULL,
    company_id         TEXT NOT NULL,
    product_id         TEXT,
    product_identifier TEXT NOT NULL,
    description        TEXT,
    quantity           TEXT NOT NULL,
    less_included      TEXT NOT NULL,
    unit_price         TEXT NOT NULL,
    unit_cost          TEXT NOT NULL,
    effective_at       TEXT,
    cancelled_at       TEXT,
    bill_customer      TEXT NOT NULL,
    raw                TEXT,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

CREATE TABLE psa_product (
    run_id      INTEGER NOT NULL REFERENCES sync_run (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    identifier  TEXT NOT NULL,
    description TEXT,
    price       TEXT,
    cost        TEXT,
    inactive    INTEGER NOT NULL,
    raw         TEXT,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

-- Vendor account -> PSA company. A NULL psa_company_id means "deliberately not billed".
CREATE TABLE account_map (
    vendor_connection  TEXT NOT NULL,
    account_id         TEXT NOT NULL,
    account_name       TEXT NOT NULL,
    psa_connection     TEXT,
    psa_company_id     TEXT,
    psa_company_name   TEXT,
    source             TEXT NOT NULL CHECK (source IN ('auto', 'manual', 'import')),
    created_at         TEXT NOT NULL,
    PRIMARY KEY (vendor_connection, account_id)
);

-- Vendor service -> PSA product identifier. A NULL product means "deliberately not billed".
CREATE TABLE service_map (
    vendor_connection  TEXT NOT NULL,
    service_key        TEXT NOT NULL,
    psa_connection     TEXT,
    product_identifier TEXT,
    source             TEXT NOT NULL CHECK (source IN ('auto', 'manual', 'import')),
    created_at         TEXT NOT NULL,
    PRIMARY KEY (vendor_connection, service_key)
);

CREATE TABLE reconcile_run (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    as_of      TEXT NOT NULL,
    currency   TEXT NOT NULL,
    sources    TEXT NOT NULL,
    totals     TEXT NOT NULL
);

CREATE TABLE finding (
    run_id INTEGER NOT NULL REFERENCES reconcile_run (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    id     TEXT NOT NULL,
    kind   TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX finding_by_id ON finding (id);
