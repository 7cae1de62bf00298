-- Top-ups (GrantMinutes, docs/contract.md §4): minutes bought or given once, outside any package,
-- due at valid_from like a period's charge. One row per topup_id: the same top-up sent twice
-- (under any command id) grants once. status NULL: not made yet (the customer's next_due_at is
-- no later than its valid_from); granted or declined once made.
CREATE TABLE topups (
    topup_id    uuid PRIMARY KEY,
    customer_id text        NOT NULL,
    valid_from  timestamptz NOT NULL,
    command     jsonb       NOT NULL,  -- the GrantMinutes as read
    status      text,
    read_at     timestamptz NOT NULL DEFAULT now(),
    made_at     timestamptz
);
CREATE INDEX topups_pending ON topups (customer_id, valid_from) WHERE status IS NULL;
CREATE INDEX topups_customer ON topups (customer_id);

-- A top-up's debit and grant are in the ledger under debit:topup:<id> / grant:topup:<id>,
-- without an assignment.
ALTER TABLE ledger ALTER COLUMN assignment_id DROP NOT NULL;
ALTER TABLE ledger ADD COLUMN topup_id uuid;
