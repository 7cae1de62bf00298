-- The accepted tick's id, and whether ChargesSettled was written for it: once every charge it
-- made due is in the outbox, one worker writes ChargesSettled (docs/contract.md §4) and sets it.
ALTER TABLE clock
    ADD COLUMN tick_id uuid,
    ADD COLUMN settled boolean NOT NULL DEFAULT true;
