-- minimum_days has no upper bound in the contract: stored as bigint, and the handlers store
-- at most MINIMUM_DAYS_STORED (a larger value rules every end date out just the same).
ALTER TABLE catalog_packages ALTER COLUMN minimum_days TYPE bigint;
ALTER TABLE assignments ALTER COLUMN minimum_days TYPE bigint;
