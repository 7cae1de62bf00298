-- Projections of catalog.packages, assignment.events and usage.rated, the ledger, the clock.

CREATE TABLE package_versions (
    package_id   text    NOT NULL,
    version      int     NOT NULL,
    effective_from date,
    definition   jsonb   NOT NULL,  -- PackageDefined as published
    PRIMARY KEY (package_id, version)
);

CREATE TABLE assignments (
    assignment_id uuid PRIMARY KEY,
    customer_id   text  NOT NULL,
    state         jsonb NOT NULL,   -- charger.domain.model.Assignment, as JSON
    -- The start of the last period the ticks have handled (NULL: none yet), whether the setup
    -- debit was handled, and when the next charge falls due (NULL: none will).
    ticked_through date,
    setup_done     boolean NOT NULL DEFAULT false,
    next_due_at    timestamptz
);
CREATE INDEX assignments_customer ON assignments (customer_id);

-- One row per customer with something due: the unit of work the tick workers claim.
CREATE TABLE customers (
    customer_id   text PRIMARY KEY,
    next_due_at   timestamptz,
    monthly_limit numeric,
    limit_currency text
);
CREATE INDEX customers_due ON customers (next_due_at) WHERE next_due_at IS NOT NULL;

CREATE TABLE usage (
    usage_id    uuid PRIMARY KEY,
    customer_id text        NOT NULL,
    did         text,
    amount      numeric     NOT NULL,
    currency    text        NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX usage_customer_time ON usage (customer_id, occurred_at);

-- Every charge made or settled, once: the key makes a second charge of a period impossible.
CREATE TABLE ledger (
    charge_key    text PRIMARY KEY,       -- debit:<assignment>:<period|setup>, grant:<...>
    customer_id   text    NOT NULL,
    assignment_id uuid    NOT NULL,
    kind          text    NOT NULL,       -- recurring, setup, minimum_spend, grant
    status        text    NOT NULL,       -- charged, declined, covered
    period_start  date    NOT NULL,
    amount        numeric,
    currency      text,
    minutes       int,
    reason        text,                   -- scheduled, run_package
    made_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_customer_month ON ledger (customer_id, period_start) WHERE status = 'charged';

-- How far each projection has read its topic: written with the projection itself.
CREATE TABLE consumed_offsets (
    topic       text NOT NULL,
    partition   int  NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);

-- The latest tick accepted: workers make everything due up to it.
CREATE TABLE clock (
    id      int PRIMARY KEY CHECK (id = 1),
    tick_at timestamptz NOT NULL
);
