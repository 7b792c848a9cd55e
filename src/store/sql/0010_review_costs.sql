-- 0010: the costs a `cost_mismatch` decision was made on (the PSA's recorded unit cost and the
-- vendor's, per month, decimal strings), so a decision stops applying when either changes, as
-- one on a quantity finding does when its quantities change. NULL for every other kind, and for
-- decisions stored before this migration. Append-only: never edit this file once released; add
-- 0011_*.sql.
ALTER TABLE review_decision ADD COLUMN psa_unit_cost TEXT;
ALTER TABLE review_decision ADD COLUMN vendor_unit_cost TEXT;
