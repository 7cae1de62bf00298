"""A workload for the allowance service alone: grants, calls and a ChargesSettled written to
its input topics, what docs/contract.md §6's rules make of them (computed with the pure domain
functions, call by call in order), and the check that the service's output is exactly that."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from allowance.domain.model import Call, Grant, cover, thresholds
from pkgcontract import topics
from pkgtools.testing.kafka import produce_keyed
from pkgtools.testing.system import System, body, command

OUTPUTS = (topics.FREE_MINUTES_USED, topics.ALLOWANCE_BALANCES, topics.ALLOWANCE_ALERTS)


def natural_id(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"packages:{key}"))


SETTLED_AT = datetime(2026, 3, 1, tzinfo=UTC)


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


FAR_AHEAD = datetime(2027, 6, 1, tzinfo=UTC)


def workload(seed: int, customers: int = 40, calls: int = 1500, far: int = 0) -> dict[str, Any]:
    """Grants (customer- and DID-level, with and without prefixes, some ending before the
    settled tick) and calls for `customers`, and what the rules make of them in order.
    `far` of the calls are dated on or after FAR_AHEAD (a clock set wrong upstream): the
    service parks them with their customers' later calls until a ChargesSettled passes them."""
    rng = random.Random(seed)
    grants: dict[str, list[Grant]] = defaultdict(list)
    messages: list[tuple[str, str, dict[str, Any]]] = []
    for n in range(customers):
        customer = f"cust-{n:03d}"
        for _ in range(rng.randint(1, 3)):
            start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 40))
            g = Grant(
                grant_id=uuid.uuid4(),
                customer_id=customer,
                did=rng.choice([None, None, f"44{n:08d}"]),
                assignment_id=uuid.uuid4(),
                destination_prefixes=rng.choice([(), ("44",), ("4420", "91")]),
                valid_from=start,
                valid_until=start + timedelta(days=rng.choice([10, 30])),
                granted_seconds=rng.randint(1, 60) * 60,
                notify_at_percent=tuple(sorted(rng.sample(range(1, 101), rng.randint(0, 3)))),
            )
            grants[customer].append(g)
            messages.append(
                (
                    topics.FREE_MINUTES_GRANTED,
                    customer,
                    command(
                        "FreeMinutesGranted",
                        event_id=str(g.grant_id),
                        grant_id=str(g.grant_id),
                        customer_id=customer,
                        did=g.did,
                        assignment_id=str(g.assignment_id),
                        package_id="pkg",
                        minutes=g.granted_seconds // 60,
                        destination_prefixes=list(g.destination_prefixes),
                        valid_from=_instant(g.valid_from),
                        valid_until=_instant(g.valid_until),
                        notify_at_percent=list(g.notify_at_percent),
                    ),
                )
            )
    sent: list[Call] = []
    far_ones = set(rng.sample(range(calls), far))
    for i in range(calls):
        n = rng.randrange(customers)
        start = FAR_AHEAD if i in far_ones else datetime(2026, 1, 1, tzinfo=UTC)
        call = Call(
            usage_id=uuid.uuid4(),
            customer_id=f"cust-{n:03d}",
            did=rng.choice([None, f"44{n:08d}"]),
            destination=rng.choice(["442071234567", "919812345678", "4420", "12125550000"]),
            occurred_at=start + timedelta(seconds=rng.randint(0, 58 * 86400)),
            duration_seconds=rng.randint(0, 900),
            amount=Decimal(rng.randint(0, 5_000_000)).scaleb(-6),
            currency="GBP",
        )
        sent.append(call)
        messages.append(
            (
                topics.USAGE_RATED,
                call.customer_id,
                command(
                    "UsageRated",
                    event_id=str(call.usage_id),
                    usage_id=str(call.usage_id),
                    customer_id=call.customer_id,
                    did=call.did,
                    amount=str(call.amount),
                    currency="GBP",
                    occurred_at=_instant(call.occurred_at),
                    destination=call.destination,
                    duration_seconds=call.duration_seconds,
                ),
            )
        )
    expected_used: dict[str, dict[str, Any]] = {}
    expected_alerts: dict[tuple[str, int], str] = {}  # (grant, percent) -> the call
    state = {c: list(gs) for c, gs in grants.items()}
    for call in sent:  # one customer's calls keep their order
        got = cover(call, state[call.customer_id])
        if got.uses:
            for u in got.uses:
                before = state[call.customer_id][u.position]
                for p in thresholds(before, u.grant):
                    expected_alerts[(str(u.grant.grant_id), p)] = str(call.usage_id)
            now = {u.grant.grant_id: u.grant for u in got.uses}
            state[call.customer_id] = [now.get(g.grant_id, g) for g in state[call.customer_id]]
            expected_used[str(call.usage_id)] = {
                "covered_seconds": got.covered_seconds,
                "credit": got.credit,
                "grants": [(str(u.grant.grant_id), u.seconds) for u in got.uses],
            }
    final = {str(g.grant_id): g for gs in state.values() for g in gs}
    return {
        "messages": messages,
        "used": expected_used,
        "final": final,
        "alerts": expected_alerts,
    }


async def send(system: System, messages: list[tuple[str, str, dict[str, Any]]]) -> None:
    by_topic: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for topic, key, message in messages:
        by_topic[topic].append((key, message))
    for topic, items in by_topic.items():
        await produce_keyed(system.bootstrap, system.topic(topic), items)  # type: ignore[arg-type]


async def settle(system: System, at: datetime = SETTLED_AT) -> None:
    settled = command("ChargesSettled", tick_id=str(uuid.uuid4()), at=_instant(at))
    await system.send(topics.CHARGER_PROGRESS, settled, key="clock")


async def check(
    system: System, want: dict[str, Any], timeout: float = 180, settled_at: datetime = SETTLED_AT
) -> None:
    async with system.reader(*OUTPUTS) as reader:

        def used_ids(records: list[Any]) -> set[str]:
            return {
                b["usage_id"]
                for b in map(body, records)
                if b.get("event_type") == "FreeMinutesUsed"
            }

        await reader.wait_for(
            lambda rs: used_ids(rs) >= set(want["used"]), timeout=timeout, what="every use"
        )

        def settled_balances(records: list[Any]) -> bool:
            # Grants expire once the calls a ChargesSettled settles are applied: after them.
            last = {
                b["grant_id"]: b
                for b in map(body, records)
                if b.get("event_type") == "AllowanceBalance"
            }
            return all(
                g.valid_until > settled_at or last.get(grant_id, {}).get("status") == "expired"
                for grant_id, g in want["final"].items()
            )

        await reader.wait_for(settled_balances, timeout=timeout, what="every expiry")
        await reader.poll(1.0)
        events = [body(r) for r in reader.records]
    used = [e for e in events if e["event_type"] == "FreeMinutesUsed"]
    assert {u["usage_id"] for u in used} == set(want["used"])  # none extra
    for u in used:  # a republish after a crash repeats the same bytes' meaning
        expected = want["used"][u["usage_id"]]
        assert u["event_id"] == natural_id(f"used:{u['usage_id']}")
        assert u["covered_seconds"] == expected["covered_seconds"]
        assert Decimal(u["credit"]) == expected["credit"]
        assert [(g["grant_id"], g["seconds"]) for g in u["grants"]] == expected["grants"]
    last: dict[str, dict[str, Any]] = {}
    for e in events:
        if e["event_type"] == "AllowanceBalance":
            last[e["grant_id"]] = e  # one key per grant: one partition, in order
    assert set(last) == set(want["final"])
    # Threshold alerts: each (grant, percent) reached once, by the call that reached it, in
    # increasing order per grant; a republish after a crash repeats the same event id.
    alerts = {e["event_id"]: e for e in events if e["event_type"] == "AllowanceThresholdReached"}
    got = {(a["grant_id"], a["percent"]): a["usage_id"] for a in alerts.values()}
    assert got == want["alerts"]
    for a in alerts.values():
        assert a["event_id"] == natural_id(f"threshold:{a['grant_id']}:{a['percent']}")
    first: dict[str, list[int]] = defaultdict(list)
    for e in events:
        if (
            e["event_type"] == "AllowanceThresholdReached"
            and e["percent"] not in first[e["grant_id"]]
        ):
            first[e["grant_id"]].append(e["percent"])
    assert all(ps == sorted(ps) for ps in first.values())
    for grant_id, g in want["final"].items():
        status = "expired" if g.valid_until <= settled_at else "active"
        assert (last[grant_id]["used_seconds"], last[grant_id]["status"]) == (
            g.used_seconds,
            status,
        ), grant_id
