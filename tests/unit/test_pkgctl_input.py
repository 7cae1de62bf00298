"""pkgctl refuses bad input before it sends anything: exit 2 and a message naming the field.
Kafka is pointed at a closed port, so a command that got through validation would fail
differently (exit 1)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pkgctl.app import app

runner = CliRunner()
ENV = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "COLUMNS": "200"}
AID = "6f1c9f0e-8a4c-4b1e-9a51-3c3e1f0f0a01"
DEFINE = [
    "define",
    "p1",
    "--name",
    "P",
    "--kind",
    "recurring",
    "--retail",
    "5.00",
    "--currency",
    "GBP",
    "--frequency",
    "monthly",
    "--match",
    "15",
]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["define", "bad id", *DEFINE[2:]], "--package"),
        ([*DEFINE[:7], "5.1234567", *DEFINE[8:]], "--retail"),
        ([*DEFINE[:7], "-1", *DEFINE[8:]], "--retail"),
        ([*DEFINE[:9], "gbp", *DEFINE[10:]], "--currency"),
        ([*DEFINE[:-1], "32"], "--match"),
        ([*DEFINE[:5], "free_minutes", *DEFINE[6:]], "--free-minutes"),
        (["retire", "has space"], "--package"),
        (["assign", "--customer", "c", "--package", "p", "--start", "2026-02-30"], "--start"),
        (
            [
                "assign",
                "--customer",
                "c",
                "--package",
                "p",
                "--start",
                "2026-01-01",
                "--quantity",
                "0",
            ],
            "--quantity",
        ),
        (
            [
                "assign",
                "--customer",
                "c",
                "--package",
                "p",
                "--start",
                "2026-01-01",
                "--end",
                "2025-12-31",
            ],
            "--end",
        ),
        (
            [
                "assign",
                "--customer",
                "c",
                "--package",
                "p",
                "--start",
                "2026-01-01",
                "--did",
                "+44123",
            ],
            "--did",
        ),
        (
            [
                "assign",
                "--customer",
                "c",
                "--package",
                "p",
                "--start",
                "2026-01-01",
                "--timezone",
                "Mars/Base",
            ],
            "--timezone",
        ),
        (["change", "not-a-uuid", "--customer", "c", "--quantity", "2"], "ASSIGNMENT_ID"),
        (["change", AID, "--customer", "c"], "nothing to change"),
        (["change", AID, "--customer", "c", "--quantity", "100001"], "quantity"),
        (["end", AID, "--customer", "c", "--date", "tomorrow"], "--end"),
        (
            ["spend-limit", "--customer", "c", "--limit", "abc", "--currency", "GBP"],
            "--limit",
        ),
        (["tick", "--at", "2026-01-01T00:00:00"], "at"),
        (["run-package", "--customer", "c", "--date", "2026-13-01"], "date"),
        (["tail", "no.such.topic"], "unknown topic"),
        (["dlq", "list", "billing.credit-debited"], "no dead-letter topic"),
        (["dlq", "show", "catalog.commands", "x"], "Usage"),
    ],
)
def test_bad_input_is_refused_before_sending(args: list[str], fragment: str) -> None:
    result = runner.invoke(app, args, env=ENV)
    assert result.exit_code == 2, result.output
    assert fragment in result.output


def test_a_valid_command_gets_past_validation_and_reports_the_unreachable_broker() -> None:
    result = runner.invoke(app, [*DEFINE, "--timeout", "1"], env=ENV)
    assert result.exit_code == 1
    assert "127.0.0.1:9" in result.output


def test_a_report_in_parts_is_joined_once_every_part_is_there() -> None:
    import json

    from pkgctl.broker import whole_report
    from pkgtools.topic_io import Record

    def part(n: int, lines: list[int]) -> Record:
        body = {
            "event_type": "PackageRunReported",
            "request_id": "r1",
            "part": n,
            "parts": 2,
            "lines": lines,
            "totals": {"GBP": "3.00"},
        }
        return Record("charger.events", 0, n, b"c", json.dumps(body).encode(), {})

    assert whole_report([part(2, [3])], "r1") is None
    joined = whole_report([part(2, [3]), part(1, [1, 2])], "r1")
    assert (
        joined is not None and joined["lines"] == [1, 2, 3] and joined["totals"] == {"GBP": "3.00"}
    )
    assert whole_report([part(1, [1, 2])], "other") is None
