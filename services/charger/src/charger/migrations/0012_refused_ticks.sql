-- Ticks refused as too far ahead of the charger's wall clock (docs/contract.md §4 ClockTicked): one
-- row per tick_id, so that its TickRefused is sent once however often the tick is read.
CREATE TABLE refused_ticks (
    tick_id uuid PRIMARY KEY,
    tick_at timestamptz NOT NULL,
    wall_clock timestamptz NOT NULL,
    refused_at timestamptz NOT NULL DEFAULT now()
);
