-- The operators' fleet lists (GET /declines, GET /held: pkgctl declines, held, status) read
-- only the few rows they list: a month's declined charges and the assignments on hold. Both
-- indexes are partial, so the ledger's charged rows (nearly all of it) are not in them and
-- the charge path writes nothing more for them.
CREATE INDEX IF NOT EXISTS ledger_declined ON ledger (period_start) WHERE status = 'declined';
CREATE INDEX IF NOT EXISTS assignments_on_hold ON assignments (customer_id, assignment_id)
    WHERE hold IS NOT NULL;
