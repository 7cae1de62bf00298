-- Every UsageReversed applied, once (docs/contract.md §4: "reversal_id (UUID; a repeat is
-- ignored)"): the first of a reversal_id counts, whatever it did (it may have named a call not
-- read yet, not covered, or another customer's) and whatever a later one with that reversal_id
-- names. Written in the transaction that applies the reversal, as applied_calls is for calls.
CREATE TABLE reversals_read (
    reversal_id uuid PRIMARY KEY
);
-- The reversals applied before this table: those that took a call back.
INSERT INTO reversals_read (reversal_id)
    SELECT reversal_id FROM covered_calls WHERE reversal_id IS NOT NULL
    ON CONFLICT DO NOTHING;
