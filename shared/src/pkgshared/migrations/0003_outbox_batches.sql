-- The outbox, one row per committed unit of work holding every event it caused, in order.
-- A tick batch of a thousand events costs one insert and one delete instead of a thousand
-- of each, and this queue table gains one dead row per batch rather than one per event (the
-- per-event table's dead rows slowed every scan of it under sustained load).
CREATE TABLE outbox_batches (
    id          bigserial   PRIMARY KEY,
    n           int         NOT NULL CHECK (n > 0),  -- events in the batch
    topics      text[]      NOT NULL,                -- contract topic names, unprefixed
    keys        bytea[]     NOT NULL,
    event_types text[]      NOT NULL,
    payloads    bytea[]     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- A batch's payloads go to TOAST; compressing them (pglz) for the few moments they live here
-- cost more CPU than the bytes saved.
ALTER TABLE outbox_batches ALTER COLUMN payloads SET STORAGE EXTERNAL;

-- Events still waiting in the per-event table are carried over, in their order.
INSERT INTO outbox_batches (n, topics, keys, event_types, payloads, created_at)
SELECT 1, ARRAY[topic], ARRAY[key], ARRAY[event_type], ARRAY[payload], created_at
FROM outbox ORDER BY id;

DROP TABLE outbox;
