-- Every UsageReversed read, by reversal_id (docs/contract.md §4 Usage: "a repeat is ignored"):
-- the first one of an id counts, whether or not it found its record; a later one with the same
-- id changes nothing, whatever usage_id it names (the allowance keeps the same: reversals_read).
CREATE TABLE usage_reversals_read (
    reversal_id uuid PRIMARY KEY
);
