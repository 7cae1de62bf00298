-- Events waiting to be published. Written in the same transaction as the state change that
-- causes them; the relay publishes them in id order and then deletes them.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    topic       text        NOT NULL,
    key         bytea,
    event_id    uuid        NOT NULL,
    event_type  text        NOT NULL,
    payload     bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Messages already handled (commands by event_id): a redelivery finds its row and changes nothing.
CREATE TABLE processed_messages (
    message_id   uuid PRIMARY KEY,
    topic        text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
