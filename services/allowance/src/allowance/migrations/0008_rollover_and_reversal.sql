-- Rollover and reversal (docs/contract.md §6). A grant keeps its rollover terms (from its
-- FreeMinutesGranted), the grant it carries from when it is a rollover grant, the seconds it
-- carried into one when it expired, the seconds reversals gave back, and the most seconds it
-- ever had used (thresholds reached stay reached when seconds come back). None of these is in
-- an index: applying a call still updates a grant in place (a HOT update).
ALTER TABLE grants
    ADD COLUMN rollover_percent    int    NOT NULL DEFAULT 0,
    ADD COLUMN rollover_days       int,
    ADD COLUMN rolled_over_from    uuid,
    ADD COLUMN rolled_over_seconds bigint NOT NULL DEFAULT 0,
    ADD COLUMN returned_seconds    bigint NOT NULL DEFAULT 0,
    ADD COLUMN peak_used_seconds   bigint NOT NULL DEFAULT 0;

-- Every covered call, as applied: what it used of which grant, in order (grant_ids[i] gave
-- seconds[i]), and its credit. A UsageReversed of it gives those seconds back once:
-- `reversal_id` is the reversal that did (null until one does).
CREATE TABLE covered_calls (
    usage_id    uuid     PRIMARY KEY,
    customer_id text     NOT NULL,
    did         text,
    currency    text     NOT NULL,
    credit      numeric  NOT NULL,
    grant_ids   uuid[]   NOT NULL,
    seconds     bigint[] NOT NULL,
    reversal_id uuid
);

-- A UsageReversed waits in its customer's order like a call (decision 0009): a parked
-- customer's reversal is parked too, in the order read. Its row names the call it takes back
-- (usage_id) and itself (reversal_id); a call's fields are null.
ALTER TABLE parked_calls
    ADD COLUMN reversal_id uuid,
    ALTER COLUMN destination DROP NOT NULL,
    ALTER COLUMN duration_seconds DROP NOT NULL,
    ALTER COLUMN amount DROP NOT NULL,
    ALTER COLUMN currency DROP NOT NULL;
