"""pkgctl status, the pure parts (issue 35): what the services, Kafka and the clock say put
together (and the problems in it), the screen, the flow per topic and its picture, the
services' metrics read, and the allowances screen's rollover columns when the API has them."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from rich.console import Console

from pkgctl import fleet, status_view, views

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

METRICS = """# HELP packages_outbox_backlog Events written but not yet published.
# TYPE packages_outbox_backlog gauge
packages_outbox_backlog 7.0
packages_work_stuck_seconds{work="tick worker"} 125.0
packages_work_stuck_seconds{work="consumer clock.ticks"} 0.0
packages_consumer_lag{group="charger",partition="0",topic="usage.rated"} 3.0
packages_consumer_lag{group="charger",partition="1",topic="usage.rated"} 0.0
packages_consumer_lag{group="charger",partition="0",topic="clock.ticks"} 0.0
not a metric line
"""


def _http(**changes: Any) -> dict[str, Any]:
    healthy = {"healthy": True, "reason": None, "metrics": {}}
    found = {
        "system": "system: profile compose (broker 127.0.0.1:19094)",
        "services": [
            {"service": "catalog", "url": "http://127.0.0.1:18081"} | healthy,
            {"service": "assignment", "url": "http://127.0.0.1:18082"} | healthy,
            {
                "service": "charger",
                "url": "http://127.0.0.1:18083",
                "healthy": False,
                "reason": "database not reachable",
                "metrics": fleet.parse_metrics(METRICS),
            },
            {"service": "allowance", "url": None, "healthy": False, "reason": "not set"},
        ],
        "held": {
            "count": 2,
            "items": [
                {
                    "customer_id": "c1",
                    "assignment_id": "a1",
                    "package_id": "gold",
                    "hold": "held",
                    "reason": "catch_up_limit",
                    "charged_through": None,
                }
            ],
        },
        "declines": {"month": "2026-12-01", "count": 3, "items": []},
        "waiting": {
            "calls_waiting": 4,
            "calls_parked": 1,
            "customers": [
                {
                    "customer_id": "early",
                    "calls": 3,
                    "oldest_occurred_at": "2026-12-06T11:00:00Z",
                    "parked": False,
                }
            ],
        },
        "clock": {"tick_at": "2026-12-08T12:00:00Z", "tick_id": "t", "settled": True},
    }
    return found | changes


KAFKA = {
    "consumer_lag": [
        {"group": "charger", "topic": "usage.rated", "lag": 104, "partitions_behind": 2},
        {"group": "catalog", "topic": "catalog.commands", "lag": 0, "partitions_behind": 0},
    ],
    "dead_letters": [
        {
            "topic": "catalog.commands",
            "dead_letters": 2,
            "newest": {"at": "2026-12-06T10:00:00Z", "error": "not JSON", "key": "p"},
        },
        {"topic": "usage.rated", "dead_letters": 0, "newest": None},
    ],
}


def test_metrics_are_read_and_summed_by_label() -> None:
    m = fleet.parse_metrics(METRICS)
    assert fleet.metric_sum(m, "packages_outbox_backlog") == 7.0
    assert fleet.metric_sum(m, "packages_consumer_lag", topic="usage.rated") == 3.0
    assert fleet.metric_sum(m, "packages_consumer_lag", group="nobody") == 0
    assert fleet.metric_sum(m, "no_such_metric") is None
    assert "not" not in m


def test_the_summary_puts_everything_together_with_its_problems() -> None:
    st = status_view.summary(_http(), KAFKA, NOW)
    charger = st["services"][2]
    assert (charger["healthy"], charger["reason"]) == (False, "database not reachable")
    assert charger["outbox_backlog"] == 7 and charger["stuck_seconds"] == {"tick worker": 125.0}
    assert st["services"][0]["outbox_backlog"] is None  # no metrics: not known, not 0
    assert st["consumer_lag_from"] == "kafka" and st["consumer_lag"][0]["lag"] == 104
    assert st["held"] == {"count": 2, "items": _http()["held"]["items"]}
    assert st["declines"]["count"] == 3
    assert st["waiting"]["oldest"]["customer_id"] == "early"
    assert st["clock"]["charger_ahead_seconds"] == 2 * 86400
    assert st["problems"] == [
        "charger: not healthy: database not reachable",
        "allowance: not healthy: not set",
        "charger: stuck 125 s: tick worker",
        "catalog.commands.dlq: 2 dead letter(s)",
        "2 assignment(s) held (pkgctl held)",
        "the charger's clock is 2 d 0 h ahead of the wall clock",
    ]


def test_without_kafka_the_rest_still_shows_and_lag_comes_from_the_metrics() -> None:
    st = status_view.summary(
        _http(held={"error": "charger did not answer"}, clock={"error": "no"}),
        {"error": "cannot read Kafka: boom"},
        NOW,
    )
    assert st["consumer_lag_from"] == "metrics"
    assert st["consumer_lag"] == [
        {"group": "charger", "topic": "clock.ticks", "lag": 0, "partitions_behind": 0},
        {"group": "charger", "topic": "usage.rated", "lag": 3, "partitions_behind": 1},
    ]
    assert st["dead_letters"] is None and "kafka: cannot read Kafka: boom" in st["problems"]
    assert st["held"] == {"error": "charger did not answer"}
    screen = "\n".join(status_view.lines(st))
    assert "consumer lag (records not read yet, as the services measure it):" in screen
    assert "charger                  usage.rated                    3" in screen
    assert "held assignments: unknown: charger did not answer" in screen
    assert "charger's clock: unknown: no" in screen


def test_the_screen_says_each_fact_on_a_line() -> None:
    st = status_view.summary(_http(), KAFKA, NOW)
    screen = status_view.lines(st)
    assert screen[0] == "system: profile compose (broker 127.0.0.1:19094)"
    for line in (
        "  catalog     healthy",
        "  charger     NOT HEALTHY: database not reachable, outbox backlog 7",
        "  charger                  usage.rated                    104",
        "held assignments: 2",
        "  c1 a1 (gold): held, why: catch_up_limit",
        "declines in 2026-12: 3",
        "calls waiting for the clock: 4, parked 1; oldest: early's call of 2026-12-06T11:00:00Z",
        "charger's clock: 2026-12-08T12:00:00Z, 2 d 0 h ahead of the wall clock "
        "(2026-12-06T12:00:00Z)",
        "  the charger's clock is 2 d 0 h ahead of the wall clock",
    ):
        assert line in screen, "\n".join(screen)
    assert any(x.startswith("  catalog.commands.dlq") and "2  newest" in x for x in screen)
    caught_up = status_view.summary(
        _http(), KAFKA | {"consumer_lag": KAFKA["consumer_lag"][1:]}, NOW
    )
    assert "  none (1 group(s) caught up)" in status_view.lines(caught_up)


def test_the_flow_is_messages_a_second_per_topic_with_a_picture() -> None:
    flow = status_view.Flow(keep=3)
    flow.add(10.0, {"usage.rated": 100, "clock.ticks": 5})
    assert flow.now() == {}
    flow.add(12.0, {"usage.rated": 300, "clock.ticks": 5})
    flow.add(14.0, {"usage.rated": 400, "clock.ticks": 6, "new.topic": 9})
    flow.add(14.0, {"usage.rated": 999})  # no time passed: ignored
    flow.add(16.0, {"usage.rated": 400, "clock.ticks": 6})
    assert list(flow.rates["usage.rated"]) == [100.0, 50.0, 0.0]  # the last 3
    assert flow.now() == {"usage.rated": 0.0, "clock.ticks": 0.0, "new.topic": 0.0}
    assert status_view.sparkline([100.0, 50.0, 0.0]) == "█▄ "
    assert status_view.sparkline([0.0, 0.0]) == "  "
    screen = status_view.lines(status_view.summary(_http(), KAFKA, NOW), flow)
    assert "  usage.rated                         0.0/s  █▄ " in screen
    assert not any(x.startswith("  new.topic") for x in screen)  # never moved


def _grant(**extra: Any) -> dict[str, Any]:
    return {
        "grant_id": "g1",
        "destination_prefixes": ["44"],
        "valid_from": "2026-12-01T00:00:00Z",
        "valid_until": "2027-01-01T00:00:00Z",
        "granted_seconds": 6000,
        "used_seconds": 60,
        "remaining_seconds": 5940,
        "status": "active",
    } | extra


def _allowances(balances: list[dict[str, Any]]) -> str:
    console = Console(file=StringIO(), width=300)
    views.allowances(console, "c1", balances)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_the_allowances_screen_shows_rollover_and_returns_when_the_api_has_them() -> None:
    plain = _allowances([_grant()])
    assert "returned s" not in plain and "rolled over" not in plain
    rolled = _allowances(
        [
            _grant(returned_seconds=30, rolled_over_from="g0", rolled_over_seconds=600),
            _grant(grant_id="g2", returned_seconds=0, rolled_over_from=None),
        ]
    )
    for text in ("returned s", "rolled over from", "rolled over s", "g0", "600"):
        assert text in rolled, rolled


def test_the_allowances_screen_names_a_top_up_and_hides_columns_no_grant_uses() -> None:
    zeros = _allowances([_grant(topup_id=None, returned_seconds=0, rolled_over_seconds=0)])
    assert "top-up" not in zeros and "returned s" not in zeros
    topped = _allowances([_grant(), _grant(grant_id="g2", topup_id="t-42")])
    assert "top-up" in topped and "t-42" in topped, topped
