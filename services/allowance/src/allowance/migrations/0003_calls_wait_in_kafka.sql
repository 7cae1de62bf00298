-- Calls no longer wait in a table: they wait in usage.rated itself, held in memory while the
-- service runs (docs/decisions/0004-allowance-apply-capacity.md). What stays in PostgreSQL is
-- which calls were applied (a repeated usage_id is ignored) and, per partition of usage.rated,
-- the offset of its first call not applied yet: where it is read again after a restart.
CREATE TABLE applied_calls (
    usage_id uuid PRIMARY KEY
);
INSERT INTO applied_calls (usage_id) SELECT usage_id FROM calls WHERE applied;

-- No resume point is known yet for calls still waiting in the old table: usage.rated is read
-- again from its start, and every call not applied among them is applied then.
CREATE TABLE call_offsets (
    partition   int    PRIMARY KEY,
    next_offset bigint NOT NULL
);

DROP TABLE calls;
ALTER TABLE customers DROP COLUMN waiting_since;
