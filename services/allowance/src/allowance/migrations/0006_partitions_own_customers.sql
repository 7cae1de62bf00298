-- An instance owns the customers of the usage.rated partitions it is handed (decision 0007):
-- its applying transactions lock those partitions' rows of call_offsets, not customers'.
-- A parked call keeps the partition it was read from, so that only the owner of that
-- partition applies it (NULL: parked before this migration; any instance applies those).
ALTER TABLE parked_calls ADD COLUMN partition int;
