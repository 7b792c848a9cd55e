-- 0003: accounts a sync listed but could not read (a Microsoft 365 tenant whose consent is
-- missing). Append-only: never edit this file once released; add 0004_*.sql.
--
-- NULL for an account that was read; else why not. A run with such accounts is still `ok` (the
-- rest of the data is good) but partial: findings that count these accounts are stale_source.
ALTER TABLE vendor_account ADD COLUMN unreadable TEXT;
