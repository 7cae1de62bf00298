"""The charger's own metrics (beside pkgshared.metrics)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram

CHARGES = Counter("charger_debits_total", "CreditDebited made.")
DECLINED = Counter("charger_declined_total", "Charges declined by a spend limit.")
GRANTS = Counter("charger_grants_total", "FreeMinutesGranted made.")
NOTICES = Counter("charger_notices_total", "ChargeUpcoming sent.")
HELD = Counter(
    "charger_held_total", "Assignments held (ChargesHeld): the catch-up limit, or failing charges."
)
HELD_FAILED = Counter(
    "charger_held_failed_total",
    "Assignments held because their charges failed for their own sake on every retry.",
)
CREDITS = Counter(
    "charger_credits_total", "CreditIssued made: debited days an end date no longer covers."
)
RELEASED = Counter("charger_released_total", "Held assignments released (ChargesReleased).")
HELD_NOW = Gauge(
    "charger_assignments_held", "Assignments held now (ChargesHeld, not released yet)."
)
TICKS_REFUSED = Counter(
    "charger_ticks_refused_total",
    "Ticks refused (TickRefused): more than CLOCK_MAX_AHEAD_SECONDS after the wall clock.",
)
TICK_AT = Gauge("charger_tick_at_seconds", "The latest accepted tick (Unix time).")
TICK_LAG = Gauge(
    "charger_tick_lag_seconds", "Seconds between a tick's `at` and when it was accepted."
)
RUN_SECONDS = Histogram(
    "charger_run_seconds",
    "Time to make everything a tick made due.",
    buckets=(0.01, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300),
)


def record(made: Any) -> None:
    CHARGES.inc(made.charged)
    DECLINED.inc(made.declined)
    GRANTS.inc(made.grants)
    NOTICES.inc(made.notices)
    HELD.inc(made.held)
