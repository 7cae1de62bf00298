"""The allowance service's output held to the reference's prediction for a rollover workload
(tests/allowance_rollover_load.py): every FreeMinutesUsed, FreeMinutesReturned,
AllowanceThresholdReached and each grant's last AllowanceBalance (rollover grants included)
exactly what docs/contract.md §6 gives, each event exactly once by event_id (a republish after
a crash repeats the same event: every record of an id is checked)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from pkgcontract import topics
from pkgtools.testing.kafka import Record
from pkgtools.testing.system import System, body
from tests.allowance_load import OUTPUTS
from tests.allowance_reference import Allowance, natural_id
from tests.allowance_rollover_load import RolloverWorkload, _instant


def _last_balances(records: list[Record]) -> dict[str, str]:
    last = {}
    for b in map(body, records):
        if b.get("event_type") == "AllowanceBalance":
            last[b["grant_id"]] = b["event_id"]  # one key per grant: one partition, in order
    return last


async def until_settled(system: System, w: RolloverWorkload, timeout: float = 180) -> None:
    """Wait until the first ChargesSettled's calls, expiries and rollovers are done: every
    non-far grant's last balance is the one the reference has then."""
    async with system.reader(topics.ALLOWANCE_BALANCES) as reader:
        await reader.wait_for(
            lambda rs: _last_balances(rs).items() >= w.at_settled.items(),
            timeout=timeout,
            what="the first ChargesSettled's expiries and rollovers",
        )


def _ids(records: list[Record], event_type: str, field: str) -> set[str]:
    return {b[field] for b in map(body, records) if b.get("event_type") == event_type}


async def check_rollover(system: System, w: RolloverWorkload, timeout: float = 300) -> None:
    m = w.model
    want_balances = {g.grant_id: g.balance()["event_id"] for g in m.grants.values()}
    async with system.reader(*OUTPUTS) as reader:
        await reader.wait_for(
            lambda rs: _ids(rs, "FreeMinutesUsed", "usage_id") >= set(m.used),
            timeout=timeout,
            what="every use",
        )
        await reader.wait_for(
            lambda rs: _ids(rs, "FreeMinutesReturned", "usage_id") >= set(m.returned),
            timeout=timeout,
            what="every return",
        )
        await reader.wait_for(
            lambda rs: _last_balances(rs).items() >= want_balances.items(),
            timeout=timeout,
            what="every grant's last balance",
        )
        await reader.poll(1.0)
        events = [body(r) for r in reader.records]
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_type[e["event_type"]].append(e)
    _check_used(m, by_type["FreeMinutesUsed"])
    _check_returned(m, by_type["FreeMinutesReturned"])
    _check_alerts(m, by_type["AllowanceThresholdReached"])
    _check_balances(m, by_type["AllowanceBalance"])


def _check_used(m: Allowance, used: list[dict[str, Any]]) -> None:
    assert {u["usage_id"] for u in used} == set(m.used)  # none extra
    for u in used:
        want = m.used[u["usage_id"]]
        call = want["call"]
        assert u["event_id"] == natural_id(f"used:{u['usage_id']}")
        assert (u["customer_id"], u["did"], u["destination"]) == (
            call.customer_id,
            call.did,
            call.destination,
        )
        assert (u["occurred_at"], u["duration_seconds"], Decimal(u["amount"])) == (
            _instant(call.occurred_at),
            call.duration_seconds,
            call.amount,
        )
        assert (u["covered_seconds"], Decimal(u["credit"])) == (
            want["covered_seconds"],
            want["credit"],
        ), u["usage_id"]
        got = [(g["grant_id"], g["seconds"], g["remaining_seconds"]) for g in u["grants"]]
        assert got == want["grants"], u["usage_id"]


def _check_returned(m: Allowance, returned: list[dict[str, Any]]) -> None:
    assert {r["usage_id"] for r in returned} == set(m.returned)  # none extra
    for r in returned:
        want = m.returned[r["usage_id"]]
        call = m.used[r["usage_id"]]["call"]
        assert r["event_id"] == natural_id(f"returned:{r['usage_id']}")
        assert (r["reversal_id"], r["customer_id"], r["did"], r["currency"]) == (
            want["reversal_id"],
            call.customer_id,
            call.did,
            call.currency,
        ), r["usage_id"]
        assert Decimal(r["credit"]) == want["credit"]
        got = [
            (g["grant_id"], g["seconds_returned"], g["seconds_lost"], g["remaining_seconds"])
            for g in r["grants"]
        ]
        assert got == want["grants"], r["usage_id"]


def _check_alerts(m: Allowance, alerts: list[dict[str, Any]]) -> None:
    """Each (grant, percent) reached once, by the call that first reached it (never again after
    a return), in increasing order per grant."""
    for a in alerts:
        assert a["event_id"] == natural_id(f"threshold:{a['grant_id']}:{a['percent']}")
        assert m.alerts.get((a["grant_id"], a["percent"])) == a["usage_id"], a
    assert {(a["grant_id"], a["percent"]) for a in alerts} == set(m.alerts)
    first: dict[str, list[int]] = defaultdict(list)
    for a in alerts:
        if a["percent"] not in first[a["grant_id"]]:
            first[a["grant_id"]].append(a["percent"])
    assert all(ps == sorted(ps) for ps in first.values())


def _key(b: dict[str, Any]) -> str:
    returned = f":r{b['returned_seconds']}" if b["returned_seconds"] else ""
    return natural_id(f"balance:{b['grant_id']}:{b['used_seconds']}{returned}:{b['status']}")


def _check_balances(m: Allowance, balances: list[dict[str, Any]]) -> None:
    last: dict[str, dict[str, Any]] = {}
    for b in balances:
        assert b["event_id"] == _key(b), b  # every balance: its event id is its state's
        assert b["granted_seconds"] == (
            b["used_seconds"] + b["remaining_seconds"] + b["rolled_over_seconds"]
        ), b
        last[b["grant_id"]] = b
    assert set(last) == set(m.grants)  # rollover grants: exactly those the reference made
    for grant_id, g in m.grants.items():
        want = g.balance()
        got = {k: last[grant_id].get(k) for k in want}
        assert got == want, grant_id
        assert (last[grant_id]["valid_from"], last[grant_id]["valid_until"]) == (
            _instant(g.valid_from),
            _instant(g.valid_until),
        ), grant_id
