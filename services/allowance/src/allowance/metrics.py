"""The allowance service's own metrics (beside pkgshared.metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CALLS = Counter("allowance_calls_applied_total", "Calls applied to grants (covered or not).")
COVERED = Counter("allowance_calls_covered_total", "Calls free minutes covered (FreeMinutesUsed).")
SECONDS = Counter("allowance_seconds_covered_total", "Seconds of calls free minutes covered.")
GRANTS = Counter("allowance_grants_total", "Grants read.")
EXPIRED = Counter(
    "allowance_grants_expired_total", "Grants expired (a ChargesSettled passed them)."
)
WAITING = Gauge(
    "allowance_calls_waiting",
    "Calls read by this instance and not applied yet (waiting for the charger to settle "
    "their moment).",
)
PARKED = Counter(
    "allowance_calls_parked_total",
    "Calls parked in a table rather than held in memory: their customer has a call far past "
    "the settled moment (a clock set wrong upstream?).",
)
CUSTOMERS_PARKED = Gauge(
    "allowance_customers_parked",
    "Customers whose calls this instance parks (one of theirs is far past the settled moment).",
)
SETTLED_AT = Gauge(
    "allowance_settled_at_seconds",
    "The latest ChargesSettled applied (Unix time): calls before it can be applied.",
)
DEAD_LETTERED = Counter(
    "allowance_calls_dead_lettered_total",
    "Calls whose applying failed for their own sake on every retry (sent to usage.rated.dlq).",
)
THRESHOLDS = Counter(
    "allowance_thresholds_reached_total",
    "AllowanceThresholdReached sent, by percent (a grant's use first reached it).",
    ["percent"],
)
ROLLOVERS = Counter(
    "allowance_rollovers_total",
    "Rollover grants made: an expired grant carried unused seconds into one.",
)
SECONDS_ROLLED_OVER = Counter(
    "allowance_seconds_rolled_over_total", "Seconds expired grants carried into rollover grants."
)
REVERSALS = Counter(
    "allowance_reversals_total",
    "UsageReversed applied, by outcome: `returned` (a covered call taken back: "
    "FreeMinutesReturned) or `nothing` (its call not covered, never read, or reversed before).",
    ["outcome"],
)
REVERSALS_RETURNED = REVERSALS.labels(outcome="returned")  # bound once: labels() per reversal
REVERSALS_NOTHING = REVERSALS.labels(outcome="nothing")  # cost a tenth of one
SECONDS_RETURNED = Counter(
    "allowance_seconds_returned_total", "Seconds reversals gave back to active grants."
)
SECONDS_LOST = Counter(
    "allowance_seconds_lost_total",
    "Seconds of reversed calls not given back: their grant had expired.",
)
