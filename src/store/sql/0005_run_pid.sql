-- 0005: the process running a sync. Append-only: never edit this file once released; add
-- 0006_*.sql.
--
-- A `running` run whose process is gone was killed (SIGKILL, power loss): the next sync of the
-- connection marks it failed. One whose process is alive holds the connection: a second sync of
-- it waits instead of fetching the same data twice.
ALTER TABLE sync_run ADD COLUMN pid INTEGER;
