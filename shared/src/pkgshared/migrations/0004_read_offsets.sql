-- How far this schema has read each topic it consumes, written in the transaction that applies
-- what was read (pkgshared.consuming): a redelivered record below it is skipped, and the
-- inputs barrier compares it with the broker's end offsets. Dead letters and rejections move
-- it too, so nothing waits for a record that was only refused.
CREATE TABLE read_offsets (
    topic       text   NOT NULL,
    partition   int    NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);

-- A command id used again with another body is rejected rather than silently dropped: the
-- digest of the body first handled under the id (NULL for rows from before this column: such
-- a repeat is taken as the same command).
ALTER TABLE processed_messages ADD COLUMN body_sha256 bytea;
