-- A top-up (GrantMinutes, docs/contract.md §4) is a grant of no assignment: its grant keeps
-- the top-up's id instead.
ALTER TABLE grants ALTER COLUMN assignment_id DROP NOT NULL;
ALTER TABLE grants ADD COLUMN topup_id uuid;
