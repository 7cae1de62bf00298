-- Proration and credits (docs/contract.md §7). What a credit needs of a debit: where its period
-- ends, the days it charged of how many (both null: a whole period), its cost and the package
-- version that charged it. Rows recorded before stay null: a credit then takes the whole
-- period and the version in force at its start.
ALTER TABLE ledger
    ADD COLUMN period_end      date,
    ADD COLUMN charged_days    int,
    ADD COLUMN period_days     int,
    ADD COLUMN cost            numeric,
    ADD COLUMN package_version int;

-- One credit per debited period at most: a later change of the end date credits no more of it.
CREATE TABLE credits (
    debit_key     text PRIMARY KEY REFERENCES ledger (charge_key),
    customer_id   text        NOT NULL,
    amount        numeric     NOT NULL,
    currency      text        NOT NULL,
    credited_from date        NOT NULL,
    credited_days int         NOT NULL,
    made_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credits_customer ON credits (customer_id);
