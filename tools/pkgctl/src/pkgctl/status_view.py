"""`pkgctl status` as data and as plain text: what the services, Kafka and the clock say,
put together (`summary`), the problems in it, the flow per topic over time, and the screen.
Pure: dicts in, dicts and lines out."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from pkgctl.fleet import metric_sum

BARS = " ▁▂▃▄▅▆▇█"


def summary(http: dict[str, Any], kafka: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The status `--json` prints: `http` from fleet.gather_http, `kafka` {consumer_lag,
    dead_letters} (or {error}) from pkgctl.groups."""
    services = []
    for h in http["services"]:
        m = h.get("metrics") or {}
        stuck = {
            ls.get("work", "?"): v for ls, v in m.get("packages_work_stuck_seconds", []) if v > 0
        }
        services.append(
            {
                "service": h["service"],
                "url": h.get("url"),
                "healthy": h["healthy"],
                "reason": h.get("reason"),
                "outbox_backlog": _int(metric_sum(m, "packages_outbox_backlog")),
                "stuck_seconds": stuck,
            }
        )
    clock = http["clock"]
    tick_at = clock.get("tick_at")
    ahead = None
    if tick_at:
        ahead = (datetime.fromisoformat(tick_at.replace("Z", "+00:00")) - now).total_seconds()
    waiting = http["waiting"]
    oldest = (waiting.get("customers") or [None])[0]
    status = {
        "system": http["system"],
        "at": now.isoformat(),
        "services": services,
        "consumer_lag": kafka.get("consumer_lag") or lag_of_metrics(http["services"]),
        "consumer_lag_from": "kafka" if kafka.get("consumer_lag") is not None else "metrics",
        "dead_letters": kafka.get("dead_letters"),
        "kafka_error": kafka.get("error"),
        "held": _part(http["held"], "count", "items"),
        "declines": _part(http["declines"], "month", "count", "items"),
        "waiting": _part(waiting, "calls_waiting", "calls_parked")
        | ({"oldest": oldest} if "error" not in waiting else {}),
        "clock": {
            "charger": tick_at,
            "wall": now.isoformat(),
            "charger_ahead_seconds": ahead,
            **({"error": clock["error"]} if "error" in clock else {}),
        },
    }
    status["problems"] = problems(status)
    return status


def lag_of_metrics(services: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Consumer lag as the services measure it (packages_consumer_lag: end offsets less the
    offsets stored with their state), per group and topic: when Kafka does not let pkgctl
    describe the groups. None when no service answers with it."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for h in services:
        for labels, value in (h.get("metrics") or {}).get("packages_consumer_lag", []):
            key = (labels.get("group", "?"), labels.get("topic", "?"))
            row = rows.setdefault(
                key, {"group": key[0], "topic": key[1], "lag": 0, "partitions_behind": 0}
            )
            row["lag"] += int(value)
            row["partitions_behind"] += 1 if value else 0
    return [rows[k] for k in sorted(rows)] if rows else None


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _part(found: dict[str, Any], *fields: str) -> dict[str, Any]:
    if "error" in found:
        return {"error": found["error"]}
    return {f: found.get(f) for f in fields}


def problems(status: dict[str, Any]) -> list[str]:
    """What needs looking at, one line each (empty: nothing)."""
    out = [
        f"{s['service']}: not healthy: {s['reason']}"
        for s in status["services"]
        if not s["healthy"]
    ]
    out += [
        f"{s['service']}: stuck {int(v)} s: {w}"
        for s in status["services"]
        for w, v in s["stuck_seconds"].items()
    ]
    if status["kafka_error"]:
        out.append(f"kafka: {status['kafka_error']}")
    out += [
        f"{d['topic']}.dlq: {d['dead_letters']} dead letter(s)"
        for d in status["dead_letters"] or []
        if d["dead_letters"]
    ]
    held = status["held"].get("count")
    if held:
        out.append(f"{held} assignment(s) held (pkgctl held)")
    ahead = status["clock"]["charger_ahead_seconds"]
    if ahead is not None and ahead > 300:
        out.append(f"the charger's clock is {_span(ahead)} ahead of the wall clock")
    return out


def _span(seconds: float) -> str:
    s = abs(int(seconds))
    if s >= 86400:
        return f"{s // 86400} d {s % 86400 // 3600} h"
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60} min"
    if s >= 60:
        return f"{s // 60} min {s % 60} s"
    return f"{s} s"


class Flow:
    """Messages a second per topic, from the topics' record counts read every refresh; the
    last `keep` rates of each, for a small picture."""

    def __init__(self, keep: int = 30) -> None:
        self._last: tuple[float, dict[str, int]] | None = None
        self.rates: dict[str, deque[float]] = {}
        self._keep = keep

    def add(self, at: float, totals: dict[str, int]) -> None:
        """`totals`: records per topic so far, read at `at` (monotonic seconds)."""
        if self._last is not None and at > self._last[0]:
            then, before = self._last
            for topic, total in totals.items():
                rate = max(0, total - before.get(topic, total)) / (at - then)
                self.rates.setdefault(topic, deque(maxlen=self._keep)).append(rate)
        self._last = (at, totals)

    def now(self) -> dict[str, float]:
        return {t: r[-1] for t, r in self.rates.items() if r}


def sparkline(rates: list[float]) -> str:
    """`rates` as bars, the highest a full block (all zero: spaces)."""
    top = max(rates, default=0.0)
    if top <= 0:
        return " " * len(rates)
    return "".join(BARS[min(8, round(r / top * 8))] for r in rates)


def lines(status: dict[str, Any], flow: Flow | None = None) -> list[str]:
    """The screen: plain text, one fact a line."""
    out = [str(status["system"]), f"at {status['at'][:19]}Z" if status["at"] else ""]
    out.append("services:")
    for s in status["services"]:
        state = "healthy" if s["healthy"] else f"NOT HEALTHY: {s['reason']}"
        backlog = s["outbox_backlog"]
        extra = f", outbox backlog {backlog}" if backlog else ""
        out.append(f"  {s['service']:<11} {state}{extra}")
    source = "" if status.get("consumer_lag_from") == "kafka" else ", as the services measure it"
    out.append(f"consumer lag (records not read yet{source}):")
    if status["kafka_error"]:
        out.append(f"  unknown: {status['kafka_error']}")
    lagging = [x for x in status["consumer_lag"] or [] if x["lag"]]
    for x in lagging:
        out.append(f"  {x['group']:<24} {x['topic']:<30} {x['lag']}")
    if status["consumer_lag"] is not None and not lagging:
        groups = len({x["group"] for x in status["consumer_lag"]})
        out.append(f"  none ({groups} group(s) caught up)")
    out.append("dead letters:")
    filled = [d for d in status["dead_letters"] or [] if d["dead_letters"]]
    for d in filled:
        newest = d["newest"] or {}
        out.append(
            f"  {d['topic'] + '.dlq':<32} {d['dead_letters']:>5}  newest {newest.get('at', '?')}: "
            f"{newest.get('error', '')[:80]}"
        )
    if status["dead_letters"] is not None and not filled:
        out.append("  none")
    out += _work(status)
    if flow is not None and flow.rates:
        out.append("flow (messages a second, latest right):")
        for topic, rates in sorted(flow.rates.items()):
            if any(rates):
                out.append(f"  {topic:<30} {rates[-1]:>8.1f}/s  {sparkline(list(rates))}")
    out.append("problems: " + ("none" if not status["problems"] else ""))
    out += [f"  {p}" for p in status["problems"]]
    return out


def _work(status: dict[str, Any]) -> list[str]:
    out = []
    held = status["held"]
    out.append(f"held assignments: {held.get('count', 'unknown: ' + str(held.get('error')))}")
    for h in held.get("items") or []:
        out.append(
            f"  {h['customer_id']} {h['assignment_id']} ({h['package_id']}): {h['hold']}, "
            f"why: {h.get('reason') or 'not recorded'}"
        )
    d = status["declines"]
    if "error" in d:
        out.append(f"declines this month: unknown: {d['error']}")
    else:
        month = (d.get("month") or "")[:7] or "(no tick yet)"
        out.append(f"declines in {month}: {d.get('count')}")
    w = status["waiting"]
    if "error" in w:
        out.append(f"calls waiting for the clock: unknown: {w['error']}")
    else:
        oldest = w.get("oldest")
        who = (
            f"; oldest: {oldest['customer_id']}'s call of {oldest['oldest_occurred_at']}"
            if oldest
            else ""
        )
        out.append(
            f"calls waiting for the clock: {w['calls_waiting']}, parked {w['calls_parked']}{who}"
        )
    c = status["clock"]
    if "error" in c:
        out.append(f"charger's clock: unknown: {c['error']}")
    elif c["charger"] is None:
        out.append(f"charger's clock: no tick yet; wall clock {c['wall'][:19]}Z")
    else:
        ahead = c["charger_ahead_seconds"]
        relation = "ahead of" if ahead > 0 else "behind"
        out.append(
            f"charger's clock: {c['charger']}, {_span(ahead)} {relation} the wall clock "
            f"({c['wall'][:19]}Z)"
        )
    return out
