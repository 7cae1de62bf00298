-- The catalog view's offsets join every consumer's in read_offsets (shared migration 0004).
INSERT INTO read_offsets (topic, partition, next_offset)
SELECT 'catalog.packages', partition, next_offset FROM catalog_view_offsets
ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset;
DROP TABLE catalog_view_offsets;
