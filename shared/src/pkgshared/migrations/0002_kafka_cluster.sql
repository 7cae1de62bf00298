-- The Kafka cluster this schema's offsets and projections come from (checked at every start).
CREATE TABLE kafka_cluster (
    id         int PRIMARY KEY CHECK (id = 1),
    cluster_id text        NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now()
);
