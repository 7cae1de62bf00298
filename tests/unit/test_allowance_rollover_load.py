"""The kill test's rollover workload (tests/allowance_rollover_load.py): it is the same for a
seed, it holds what the test's determinism rests on (a reversal after its call unless it is
meant to come first, the far customers without rollover or reversals, every grant ending by
the first ChargesSettled with its rollover grant outliving it), and it exercises what it
claims (rollover grants used, seconds returned and lost, repeats that change nothing)."""

from __future__ import annotations

from collections import Counter

from pkgcontract import topics
from tests.allowance_load import SETTLED_AT
from tests.allowance_rollover_load import rollover_workload


def test_the_same_seed_gives_the_same_predictions() -> None:
    one, two = rollover_workload(seed=3, calls=600), rollover_workload(seed=3, calls=600)
    assert [g.balance()["used_seconds"] for g in one.model.grants.values()] == [
        g.balance()["used_seconds"] for g in two.model.grants.values()
    ]
    assert len(one.model.used) == len(two.model.used)
    assert len(one.model.returned) == len(two.model.returned)


def test_the_workload_holds_what_its_predictions_rest_on() -> None:
    w = rollover_workload(seed=5)
    far = {f"cust-{n:03d}" for n in range(3)}
    for _, _, g in w.grants:
        assert g["valid_until"] <= SETTLED_AT.isoformat().replace("+00:00", "Z") or (
            g["rollover_percent"] == 0
        )
        if g["customer_id"] in far:
            assert g["rollover_percent"] == 0
    usage = w.before + w.after
    assert all(topic == topics.USAGE_RATED for topic, _, _ in usage)
    assert not [b for _, k, b in usage if k in far and b["event_type"] == "UsageReversed"]
    calls_seen: set[str] = set()
    before_call = 0
    for _, key, body in usage:
        assert key == body["customer_id"]
        if body["event_type"] == "UsageRated":
            calls_seen.add(body["usage_id"])
        elif body["usage_id"] not in calls_seen:
            before_call += 1  # never read, or read before its call: both change nothing
    before_calls = [b for _, _, b in w.before if b["event_type"] == "UsageRated"]
    assert all(b["occurred_at"] < "2026-03-01" for b in before_calls if b["customer_id"] not in far)
    assert before_call > 0
    for grant in w.model.grants.values():
        if grant.rolled_over_from:
            assert grant.valid_until > SETTLED_AT and grant.valid_from < SETTLED_AT


def test_the_workload_exercises_rollover_and_reversal() -> None:
    w = rollover_workload(seed=5)
    m = w.model
    rollovers = [g for g in m.grants.values() if g.rolled_over_from]
    assert len(rollovers) >= 10 and sum(1 for g in rollovers if g.used) >= 5
    kinds = Counter(
        "lost" if lost else "returned" for r in m.returned.values() for _, _, lost, _ in r["grants"]
    )
    assert kinds["lost"] >= 10 and kinds["returned"] >= 10
    ids = Counter(b["reversal_id"] for _, _, b in w.after + w.before if "reversal_id" in b)
    assert any(n > 1 for n in ids.values())  # a reversal repeated as it was
    assert w.far_calls == 6 and len(m.alerts) > 0
    assert set(w.at_settled) <= set(m.grants)
