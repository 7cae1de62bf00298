-- Every grant of a customer, used up or not, for the read API; the calls' query for grants
-- still valid uses it too (valid_until > the call). With used_seconds out of every index and
-- index predicate, applying a call can update a grant in place (a HOT update).
DROP INDEX IF EXISTS grants_customer;
CREATE INDEX IF NOT EXISTS grants_customer_until ON grants (customer_id, valid_until);
