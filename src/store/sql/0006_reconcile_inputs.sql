-- 0006: what a reconcile result was computed from. Append-only: never edit this file once
-- released; add 0007_*.sql.
--
-- inputs: a hash of everything the findings depend on (the tool version, the config, the
-- mappings, every sync run's id and outcome); valid_until: the first moment the clock alone could
-- change them (an item turning inactive, a line or agreement starting or ending, a sync growing
-- too old, the billing period ending); unhealthy: the connections judged unhealthy and why, as
-- a JSON object. `report` shows the stored findings without recomputing them while the inputs
-- hash the same and the clock is before valid_until. NULL (results of --period / --as-of, or
-- of older builds): always recompute.
ALTER TABLE reconcile_run ADD COLUMN inputs TEXT;
ALTER TABLE reconcile_run ADD COLUMN valid_until TEXT;
ALTER TABLE reconcile_run ADD COLUMN unhealthy TEXT;
