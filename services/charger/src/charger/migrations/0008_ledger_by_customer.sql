-- The read API lists a customer's charges of every status by period; the spend limit's
-- month totals (charged debits only) use the same index with a filter. One index rather than
-- two on the table every charge is written to.
DROP INDEX IF EXISTS ledger_customer_month;
CREATE INDEX IF NOT EXISTS ledger_customer_period ON ledger (customer_id, period_start);
-- The held-assignments gauge counts these every few seconds: a partial index keeps that a
-- lookup of the few held rows, not a scan of every assignment.
CREATE INDEX IF NOT EXISTS assignments_held ON assignments (customer_id) WHERE hold = 'held';
