-- The projections' offsets join every consumer's in read_offsets (shared migration 0004).
INSERT INTO read_offsets (topic, partition, next_offset)
SELECT topic, partition, next_offset FROM consumed_offsets
ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset;
DROP TABLE consumed_offsets;
