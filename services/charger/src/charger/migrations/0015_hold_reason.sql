-- Why an assignment is held (docs/contract.md §4 ChargesHeld reason), for the read API:
-- 'catch_up_limit', or 'failed: <error>' when its charges failed on every retry. Set with the
-- hold; kept while released; cleared with it. Holds made before this column: NULL (not known).
ALTER TABLE assignments ADD COLUMN hold_reason text;
