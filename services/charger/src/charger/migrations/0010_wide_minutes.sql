-- A grant's minutes are free_minutes x quantity: up to 10^6 x 10^5 (docs/contract.md §4), past
-- 2^31. Every integer the contract bounds is stored whole.
ALTER TABLE ledger ALTER COLUMN minutes TYPE bigint;
