"""The allowance reference (tests/allowance_reference.py) held to docs/contract.md §6: the worked
example's rollover and reversal, and the rules the kill tests' predictions rest on (waiting in
customer order, a reversal behind a waiting call, repeats, thresholds after a return, the order
of use, a late call after a carry); plus a property: seconds are conserved."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.allowance_reference import Allowance, Call, Grant, Reversal, natural_id


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _uk100(a: Allowance, customer: str = "c") -> dict[str, Grant]:
    out = {}
    for month, start, end in (
        ("jan", "2026-01-15", "2026-02-15"),
        ("feb", "2026-02-15", "2026-03-15"),
        ("mar", "2026-03-15", "2026-04-15"),
    ):
        out[month] = Grant(
            grant_id=natural_id(f"grant:{customer}:{start}"),
            customer_id=customer,
            did=None,
            assignment_id="asg",
            prefixes=("44",),
            valid_from=_at(f"{start}T00:00:00Z"),
            valid_until=_at(f"{end}T00:00:00Z"),
            granted=12_000,
            notify=(80, 100),
            rollover_percent=50,
            rollover_days=30,
        )
        a.grant(out[month])
    return out


_n = iter(range(10**9))


def _call(at: str, seconds: int, destination: str = "442071234567", amount: str = "14") -> Call:
    return Call(f"u{next(_n)}", "c", None, destination, _at(at), seconds, Decimal(amount))


def _rev(call: Call | str) -> Reversal:
    usage_id = call if isinstance(call, str) else call.usage_id
    return Reversal(f"r{next(_n)}", usage_id, "c")


def _worked_example() -> tuple[Allowance, dict[str, Grant], Grant, Call]:
    a = Allowance()
    g = _uk100(a)
    for call in (
        _call("2026-01-20T10:00:00Z", 300),
        _call("2026-01-20T11:00:00Z", 120, "919812345678"),
        _call("2026-02-14T09:00:00Z", 12_000),
    ):
        a.read(call)
    assert a.used == {}  # they wait
    a.settle(_at("2026-03-20T00:00:00Z"))
    rolled = a.grants[natural_id(f"rollover:{g['feb'].grant_id}")]
    seven = _call("2026-03-20T10:00:00Z", 7_000)
    a.read(seven)
    a.settle(_at("2026-03-21T00:00:00Z"))
    return a, g, rolled, seven


def test_the_worked_examples_rollover() -> None:
    a, g, rolled, seven = _worked_example()
    assert (g["jan"].used, g["jan"].rolled, g["jan"].expired) == (12_000, 0, True)
    assert natural_id(f"rollover:{g['jan'].grant_id}") not in a.grants
    feb = g["feb"].balance()
    assert (feb["rolled_over_seconds"], feb["remaining_seconds"], feb["status"]) == (
        6_000,
        6_000,
        "expired",
    )
    assert feb["event_id"] == natural_id(f"balance:{g['feb'].grant_id}:0:expired")
    assert (rolled.valid_from, rolled.valid_until) == (
        _at("2026-03-15T00:00:00Z"),
        _at("2026-04-14T00:00:00Z"),
    )
    assert (rolled.granted, rolled.rolled_over_from, rolled.notify) == (
        6_000,
        g["feb"].grant_id,
        (),
    )
    assert a.used[seven.usage_id]["grants"] == [
        (rolled.grant_id, 6_000, 0),
        (g["mar"].grant_id, 1_000, 11_000),
    ]
    assert set(a.alerts) == {(g["jan"].grant_id, 80), (g["jan"].grant_id, 100)}


def test_a_reversal_while_both_are_active_gives_everything_back() -> None:
    a, g, rolled, seven = _worked_example()
    reversal = _rev(seven)
    a.read(reversal)
    assert a.returned[seven.usage_id] == {
        "reversal_id": reversal.reversal_id,
        "credit": Decimal("14.000000"),
        "grants": [(rolled.grant_id, 6_000, 0, 6_000), (g["mar"].grant_id, 1_000, 0, 12_000)],
    }
    assert rolled.balance()["event_id"] == natural_id(f"balance:{rolled.grant_id}:0:r6000:active")
    # Again, by another reversal, of an uncovered call, of a call never read: nothing.
    before = dict(a.returned)
    for again in (reversal, _rev(seven), _rev("never-read")):
        a.read(again)
    assert a.returned == before and rolled.returned == 6_000


def test_a_reversal_after_the_rollover_grant_expired_loses_its_seconds() -> None:
    a, g, rolled, seven = _worked_example()
    a.settle(_at("2026-04-14T12:00:00Z"))
    a.read(_rev(seven))
    assert a.returned[seven.usage_id]["grants"] == [
        (rolled.grant_id, 0, 6_000, 0),
        (g["mar"].grant_id, 1_000, 0, 12_000),
    ]
    assert natural_id(f"rollover:{rolled.grant_id}") not in a.grants  # never rolls again
    assert rolled.balance()["event_id"] == natural_id(f"balance:{rolled.grant_id}:6000:expired")


def test_a_reversal_behind_a_waiting_call_waits_and_thresholds_are_not_sent_again() -> None:
    a, g, _rolled, seven = _worked_example()
    a.read(_rev(seven))
    first, again, last = (
        _call("2026-03-22T10:00:00Z", 15_600),
        _call("2026-03-22T11:00:00Z", 15_600),
        _call("2026-03-22T12:00:00Z", 2_400),
    )
    for message in (first, _rev(first), again, last):
        a.read(message)
    assert first.usage_id not in a.used and first.usage_id not in a.returned
    a.settle(_at("2026-03-23T00:00:00Z"))
    assert a.returned[first.usage_id]["grants"][1] == (g["mar"].grant_id, 9_600, 0, 12_000)
    mar = g["mar"].grant_id
    assert {k: v for k, v in a.alerts.items() if k[0] == mar} == {
        (mar, 80): first.usage_id,
        (mar, 100): last.usage_id,
    }


def test_a_reversal_before_its_call_changes_nothing_and_the_call_still_counts() -> None:
    a, _g, _rolled, _ = _worked_example()
    later = _call("2026-03-20T11:00:00Z", 60)
    a.read(_rev(later))
    a.read(later)
    assert later.usage_id in a.used and later.usage_id not in a.returned


def test_a_late_call_uses_what_is_left_after_the_carry() -> None:
    a, g, _rolled, _ = _worked_example()
    late = _call("2026-03-01T10:00:00Z", 9_000)  # inside February's window, read after expiry
    a.read(late)
    assert a.used[late.usage_id]["grants"] == [(g["feb"].grant_id, 6_000, 0)]
    a.read(_rev(late))
    assert a.returned[late.usage_id]["grants"] == [(g["feb"].grant_id, 0, 6_000, 0)]


def test_the_order_of_use_longest_prefix_then_did_then_earliest_end() -> None:
    a = Allowance()
    t0 = _at("2026-01-01T00:00:00Z")

    def grant(gid: str, prefixes: tuple[str, ...], did: str | None, days: int) -> None:
        a.grant(Grant(gid, "c", did, None, prefixes, t0, t0 + timedelta(days=days), 60))

    grant("g-any", (), None, 5)
    grant("g-44-late", ("44",), None, 20)
    grant("g-44-early", ("44",), None, 10)
    grant("g-44-did", ("44",), "4411", 30)
    grant("g-4420", ("4420", "91"), None, 30)
    a.settle(t0 + timedelta(days=1))
    call = Call("x", "c", "4411", "442071234567", t0, 400, Decimal("4"))
    a.read(call)
    assert [gid for gid, _, _ in a.used["x"]["grants"]] == [
        "g-4420",
        "g-44-did",
        "g-44-early",
        "g-44-late",
        "g-any",
    ]
    assert a.used["x"]["covered_seconds"] == 300
    assert a.used["x"]["credit"] == Decimal("3.000000")


@settings(max_examples=60)
@given(st.integers(0, 2**32))
def test_seconds_are_conserved_whatever_the_history(seed: int) -> None:
    """Per grant: granted = used + remaining + carried; per reversed call: what it used =
    returned + lost; a rollover at most once per grant."""
    rng = random.Random(seed)
    a = Allowance()
    t0 = _at("2026-01-01T00:00:00Z")
    for n in range(4):
        start = t0 + timedelta(days=rng.randint(0, 20))
        a.grant(
            Grant(
                f"g{n}",
                "c",
                None,
                None,
                rng.choice([(), ("44",)]),
                start,
                start + timedelta(days=rng.choice([5, 15])),
                rng.randint(1, 20) * 60,
                rollover_percent=rng.choice([0, 50, 100]),
                rollover_days=rng.choice([3, 30]),
            )
        )
    calls: list[Call] = []
    settled = t0
    for _ in range(60):
        roll = rng.random()
        if roll < 0.15:
            settled += timedelta(days=rng.randint(1, 10))
            a.settle(settled)
        elif roll < 0.35 and calls:
            a.read(Reversal(f"r{rng.randrange(10**9)}", rng.choice(calls).usage_id, "c"))
        else:
            at = t0 + timedelta(hours=rng.randint(0, 24 * 60))
            calls.append(
                Call(f"u{len(calls)}", "c", None, "4420", at, rng.randint(0, 900), Decimal(1))
            )
            a.read(calls[-1])
    for g in a.grants.values():
        assert g.granted == g.used + g.remaining + g.rolled and g.remaining >= 0
        assert g.rolled == 0 or g.expired
    rollovers = [g for g in a.grants.values() if g.rolled_over_from]
    assert len({g.rolled_over_from for g in rollovers}) == len(rollovers)
    for usage_id, back in a.returned.items():
        used = {gid: s for gid, s, _ in a.used[usage_id]["grants"]}
        assert {gid: r + lost for gid, r, lost, _ in back["grants"]} == used
