-- Calls that occurred far past the settled moment (a clock set wrong upstream) wait here
-- rather than in memory, with their customer's later calls, in the order read (seq): their
-- partition's resume point moves past them (allowance.domain.waiting).
CREATE TABLE parked_calls (
    seq              bigserial   PRIMARY KEY,
    usage_id         uuid        NOT NULL,
    customer_id      text        NOT NULL,
    did              text,
    destination      text        NOT NULL,
    occurred_at      timestamptz NOT NULL,
    duration_seconds bigint      NOT NULL,
    amount           numeric     NOT NULL,
    currency         text        NOT NULL
);
CREATE INDEX parked_calls_by_customer ON parked_calls (customer_id, seq);
