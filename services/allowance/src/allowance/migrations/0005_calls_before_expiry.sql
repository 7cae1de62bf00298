-- Calls before expiry (docs/contract.md §6): a ChargesSettled no longer expires grants at once. It
-- leaves the moment to expire at and where usage.rated ended when it was read; the grants
-- expire once every partition has been read that far and the calls the moment settles are
-- applied (each instance says so of the partitions it reads, in usage_ready).
ALTER TABLE horizon
    ADD COLUMN expire_at   timestamptz,
    ADD COLUMN expire_ends jsonb;

CREATE TABLE usage_ready (
    partition int         PRIMARY KEY,
    ready_for timestamptz NOT NULL
);

-- Threshold alerts (docs/contract.md §6): the grant's percents, from its FreeMinutesGranted.
ALTER TABLE grants ADD COLUMN notify_at_percent int[] NOT NULL DEFAULT '{}';
