-- 0007: PSA companies whose billing a sync could not read in full (a recurring line whose
-- quantity the API sent as null or out of range). Append-only: never edit this file once
-- released; add 0008_*.sql.
--
-- A run with such companies is still `ok` (the rest of the data is good) but partial: the
-- findings of these companies are stale_source, since what they are billed is unknown.
CREATE TABLE psa_unreadable (
    run_id     INTEGER NOT NULL REFERENCES sync_run (id) ON DELETE CASCADE,
    company_id TEXT NOT NULL,
    why        TEXT NOT NULL,
    PRIMARY KEY (run_id, company_id)
);
