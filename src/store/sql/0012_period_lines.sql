-- 0012: what each billing period reconciled to, kept after its records are pruned. Append-only:
-- never edit this file once released; add 0013_*.sql.
--
-- `db prune` drops the item-level records of old syncs; before it does, each billing period it
-- touches is reconciled one last time and its lines are kept here (a few rows per company and
-- product per month: small enough to keep forever). `history` and the HTML report's charts
-- read them for periods that can no longer be reconciled. A period's lines are written once,
-- when its records were still whole, and never replaced.
CREATE TABLE period_line (
    period          TEXT NOT NULL,
    psa_connection  TEXT NOT NULL,
    company_id      TEXT NOT NULL,
    product         TEXT NOT NULL,
    company         TEXT NOT NULL,
    -- Decimals as text (exact), empty columns NULL.
    vendor          TEXT,
    vendor_latest   TEXT,
    vendor_peak     TEXT,
    billed          TEXT,
    difference      TEXT,
    monthly_impact  TEXT,
    currency        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    snapshots       INTEGER NOT NULL,
    kept_at         TEXT NOT NULL,
    PRIMARY KEY (period, psa_connection, company_id, product)
) WITHOUT ROWID;
