-- 0009: where a PSA line's billed quantity came from when the PSA's API has no recurring
-- lines (the Kaseya BMS family reads last period's invoice lines): `invoice 1042 of
-- 2026-11-01`. NULL for every PSA that gives recurring lines, and for rows stored before this
-- migration. Append-only: never edit this file once released; add 0010_*.sql.
ALTER TABLE psa_line ADD COLUMN invoiced TEXT;
