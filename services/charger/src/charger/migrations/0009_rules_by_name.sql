-- docs/contract.md §5, the spend limit: what counts toward a customer's monthly limit is every
-- debit charged (recurring, setup, minimum spend; not a grant, not a declined or covered
-- period), in the calendar month of its period_start. The one place that says so: the limit's
-- check and the read API's month-to-date both read this view.
CREATE VIEW spend_limit_debits AS
SELECT customer_id, currency, date_trunc('month', period_start)::date AS month, period_start,
       amount
FROM ledger
WHERE status = 'charged' AND kind <> 'grant';
