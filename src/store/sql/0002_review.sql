-- 0002: review decisions. Append-only: never edit this file once released; add 0003_*.sql.
--
-- User data, like the mappings: no migration may drop it. One decision per finding id; the
-- finding's type and quantities (decimal strings) at decision time say when it stops applying.

CREATE TABLE review_decision (
    finding_id    TEXT PRIMARY KEY,
    decision      TEXT NOT NULL CHECK (decision IN ('approve', 'dismiss', 'ignore')),
    note          TEXT,
    decided_by    TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    period        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    billed        TEXT,
    less_included TEXT,
    actual        TEXT
);
