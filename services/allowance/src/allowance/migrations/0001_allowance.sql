-- The allowance service's state (docs/contract.md §6): grants with what calls used of them, the
-- calls read (applied or waiting for the charger to settle their moment), and the settled
-- horizon. Offsets read are in the shared read_offsets table, written with these.

CREATE TABLE grants (
    grant_id             uuid PRIMARY KEY,
    customer_id          text        NOT NULL,
    did                  text,
    assignment_id        uuid        NOT NULL,
    destination_prefixes text[]      NOT NULL,
    valid_from           timestamptz NOT NULL,
    valid_until          timestamptz NOT NULL,
    granted_seconds      bigint      NOT NULL,
    used_seconds         bigint      NOT NULL DEFAULT 0,
    status               text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired'))
);
CREATE INDEX grants_customer ON grants (customer_id) WHERE used_seconds < granted_seconds;
CREATE INDEX grants_to_expire ON grants (valid_until) WHERE status = 'active';

-- Every call read, once (a repeated usage_id is ignored); `applied` once free minutes were
-- applied to it. Calls of a customer are applied in `seq` order (the order they were read).
CREATE TABLE calls (
    usage_id         uuid PRIMARY KEY,
    seq              bigserial   NOT NULL,
    customer_id      text        NOT NULL,
    did              text,
    destination      text        NOT NULL,
    occurred_at      timestamptz NOT NULL,
    duration_seconds int         NOT NULL,
    amount           numeric     NOT NULL,
    currency         text        NOT NULL,
    applied          boolean     NOT NULL DEFAULT false
);
CREATE INDEX calls_waiting ON calls (customer_id, seq) WHERE NOT applied;

-- One row per customer with calls waiting: `waiting_since` is the occurred_at of the first
-- waiting call (the queue's head). The workers claim customers whose head the charger has
-- settled, as the charger's workers claim customers with something due.
CREATE TABLE customers (
    customer_id   text PRIMARY KEY,
    waiting_since timestamptz
);
CREATE INDEX customers_waiting ON customers (waiting_since) WHERE waiting_since IS NOT NULL;

-- The latest ChargesSettled applied: calls that occurred before `settled_at` can be applied.
CREATE TABLE horizon (
    id         int PRIMARY KEY CHECK (id = 1),
    settled_at timestamptz NOT NULL,
    tick_id    uuid        NOT NULL
);
