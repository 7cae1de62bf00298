"""What the services' HTTP sides say of the whole system (pkgctl status and the fleet lists):
each one's /health (and why not healthy) and /metrics, the charger's holds, declines and
clock, the allowance's calls waiting. What does not answer is said, never raised."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pkgctl import api, profiles, reach

SERVICES = ("catalog", "assignment", "charger", "allowance")


def _fetch(url: str) -> tuple[int, bytes]:
    from urllib.error import HTTPError
    from urllib.request import urlopen

    try:
        with urlopen(url, timeout=5) as response:  # noqa: S310 (checked by api.base)
            return response.status, response.read()
    except HTTPError as exc:
        return exc.code, exc.read()


def health(service: str) -> dict[str, Any]:
    """{service, url, healthy, reason, metrics}: reason None when healthy."""
    try:
        base = api.base(service)
    except api.ApiNotSet as exc:
        return {"service": service, "url": None, "healthy": False, "reason": str(exc)}
    row: dict[str, Any] = {"service": service, "url": base, "healthy": False}
    try:
        code, body = _fetch(f"{base}/health")
    except OSError as exc:
        return row | {"reason": f"did not answer ({getattr(exc, 'reason', exc)})"}
    try:
        checks = json.loads(body)
    except ValueError:
        checks = {}
    failing = [k for k, v in checks.items() if v is False]
    stuck = checks.get("stuck") or {}
    reasons = [f"{k} not reachable" for k in failing] + [
        f"stuck: {w}: {why}" for w, why in stuck.items()
    ]
    row["healthy"] = code == 200
    row["reason"] = None if code == 200 else "; ".join(reasons) or f"/health answered {code}"
    try:
        code, text = _fetch(f"{base}/metrics")
        row["metrics"] = parse_metrics(text.decode(errors="replace")) if code == 200 else {}
    except OSError:
        row["metrics"] = {}
    return row


def parse_metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text: name -> [(labels, value)] (comments and unreadable lines left out)."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        pairs: dict[str, str] = {}
        for part in labels.rstrip("}").split(","):
            k, sep, v = part.partition("=")
            if sep:
                pairs[k.strip()] = v.strip().strip('"')
        try:
            found.setdefault(name.strip(), []).append((pairs, float(value)))
        except ValueError:
            continue
    return found


def metric_sum(metrics: dict[str, Any], name: str, **labels: str) -> float | None:
    """The sum of `name`'s samples with `labels`; None when the service has no such metric."""
    samples = metrics.get(name)
    if samples is None:
        return None
    return sum(v for ls, v in samples if all(ls.get(k) == x for k, x in labels.items()))


def _read(service: str, path: str, **params: Any) -> dict[str, Any]:
    """The answer, or {"error": why} when the service does not answer."""
    try:
        return api.get(service, path, **params) or {"error": f"{path}: not found"}
    except api.ApiUnreachable as exc:
        return {"error": str(exc)}


def held(limit: int = 100) -> dict[str, Any]:
    return _read("charger", "/held", limit=limit)


def declines(month: str | None = None, limit: int = 100) -> dict[str, Any]:
    return _read("charger", "/declines", limit=limit, month=month)


def waiting(limit: int = 100) -> dict[str, Any]:
    return _read("allowance", "/calls/waiting", limit=limit)


def clock() -> dict[str, Any]:
    return _read("charger", "/clock")


async def gather_http(limit: int = 5) -> dict[str, Any]:
    """Health and metrics of every service, holds, declines, calls waiting and the clock, all
    asked at once."""
    healths, holds, declined, calls, clock_ = await asyncio.gather(
        asyncio.gather(*(asyncio.to_thread(health, s) for s in SERVICES)),
        asyncio.to_thread(held, limit),
        asyncio.to_thread(declines, None, limit),
        asyncio.to_thread(waiting, limit),
        asyncio.to_thread(clock),
    )
    return {
        "services": list(healths),
        "held": holds,
        "declines": declined,
        "waiting": calls,
        "clock": clock_,
        "system": profiles.chosen().describe()
        + (f", topic prefix {reach.topic_prefix()!r}" if reach.topic_prefix() else ""),
    }
