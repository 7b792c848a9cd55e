-- 0013: what each vendor service counted per account in a billing period, kept after the
-- period's records are pruned. Append-only: never edit this file once released; add 0014_*.sql.
--
-- Beside period_line (per PSA company and product, so as the mappings were at prune time),
-- `db prune` keeps here what the vendor side itself counted, whatever it was mapped to: per
-- vendor connection, account and service, the counted units on every basis. A few rows per
-- account and service per month: small enough to keep forever. Written once, never replaced.
CREATE TABLE period_service_count (
    period          TEXT NOT NULL,
    connection      TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    service         TEXT NOT NULL,
    account         TEXT NOT NULL,
    -- Decimals as text (exact).
    latest          TEXT NOT NULL,
    peak            TEXT NOT NULL,
    average         TEXT NOT NULL,
    end_of_period   TEXT NOT NULL,
    snapshots       INTEGER NOT NULL,
    kept_at         TEXT NOT NULL,
    PRIMARY KEY (period, connection, account_id, service)
) WITHOUT ROWID;
