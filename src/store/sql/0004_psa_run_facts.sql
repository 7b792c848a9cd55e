-- 0004: what a PSA sync learned beside its records. Append-only: never edit this file once
-- released; add 0005_*.sql.
--
-- meta: the connector's notes on the API itself, as a JSON object of strings (Autotask's
-- request threshold and usage this hour), shown by `status`.
-- whole_units: 1 when the PSA takes whole units only (Autotask), so usage is rounded up before
-- it is compared with the billed quantity.
ALTER TABLE sync_run ADD COLUMN meta TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sync_run ADD COLUMN whole_units INTEGER NOT NULL DEFAULT 0;
