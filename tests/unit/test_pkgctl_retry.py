"""Every pkgctl command that sends says its ids before sending, takes them back as options, and
when no outcome comes says how to follow the command and the line that sends it again as the
same command: run, that line sends the same ids and the same body (as the services compare
bodies: pkgshared.commands.body_digest). Kafka is faked at pkgctl's broker functions."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from pkgcontract.messages import Message
from pkgctl import answers, broker, charging
from pkgctl.app import app
from pkgctl.resend import SLACK, new_command_id, sent_around
from pkgshared.commands import body_digest
from pkgtools.topic_io import WaitTimedOut

runner = CliRunner()
CLOSED = "http://127.0.0.1:9"
ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
    "COLUMNS": "200",
    **{f"{name}_API": CLOSED for name in ("CATALOG", "ASSIGNMENT", "CHARGER", "ALLOWANCE")},
}
AID = "6f1c9f0e-8a4c-4b1e-9a51-3c3e1f0f0a01"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

COMMANDS = {
    "DefinePackage": ["define", "p1", "--name", "Gold plan", "--kind", "free_minutes",
                      "--retail", "5.00", "--currency", "GBP", "--frequency", "monthly",
                      "--match", "15", "--match", "31", "--free-minutes", "100",
                      "--prefix", "44", "--notify-at", "80", "--description", "two\nlines"],
    "RetirePackage": ["retire", "p1"],
    "AssignPackage": ["assign", "--customer", "c 1", "--package", "p1", "--start",
                      "2026-01-01", "--quantity", "3", "--no-auto-decrement", "--did",
                      "441234567", "--timezone", "Europe/London"],
    "ChangeAssignment": ["change", AID, "--customer", "c", "--quantity", "2", "--end", "none",
                         "--no-auto-decrement"],
    "EndAssignment": ["end", AID, "--customer", "c"],
    "SetSpendLimit": ["spend-limit", "--customer", "c", "--limit", "none", "--currency", "GBP"],
    "ClockTicked": ["tick", "--wait"],
    "ReleaseHeldCharges": ["release", "c", AID],
    "UsageRated": ["usage", "--customer", "c", "--destination", "4420", "--seconds", "60",
                   "--amount", "0.10", "--currency", "GBP", "--wait"],
    "RunPackage": ["run-package", "--customer", "c", "--date", "2026-02-01"],
}  # fmt: skip
"""A command line of every command that sends, with the type it sends."""

NATURAL = {"AssignPackage": "assignment_id", "ClockTicked": "tick_id", "UsageRated": "usage_id",
           "RunPackage": "request_id"}  # fmt: skip


class FakeBroker:
    """broker.send never sees an outcome (a timeout); first_sent finds `earlier`."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Message, datetime | None]] = []
        self.earlier: dict[str, Any] | None = None

    async def send(
        self,
        topic: str,
        key: str,
        message: Message,
        answers: str | None,
        timeout: float,
        success: dict[str, Any],
        since: datetime | None = None,
    ) -> dict[str, Any] | None:
        self.sent.append((topic, key, message, since))
        if answers is None:
            return None
        raise WaitTimedOut("timed out")

    async def first_sent(
        self, command_id: str, since: datetime | None, among: tuple[str, ...] = ()
    ) -> tuple[str, dict[str, Any]] | None:
        if self.earlier is None or self.earlier["event_id"] != command_id:
            return None
        return among[0], self.earlier


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeBroker:
    fake = FakeBroker()
    monkeypatch.setattr(broker, "send", fake.send)
    monkeypatch.setattr(broker, "first_sent", fake.first_sent)

    async def knows(_customer: str) -> Any:
        return {"items": []}

    monkeypatch.setattr(charging, "_charger_knows", knows)
    return fake


def resend_words(stderr: str) -> list[str]:
    """The words of the resend line as bash reads them (it may quote $'...')."""
    lines = [x.strip() for x in stderr.splitlines() if x.strip().startswith("pkgctl ")]
    assert len(lines) == 1, stderr
    script = "printf '%s\\0' " + lines[0].removeprefix("pkgctl ")
    words = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout
    return words.decode().split("\0")[:-1]


@pytest.mark.parametrize("kind", list(COMMANDS))
def test_a_command_that_timed_out_is_sent_again_as_the_same_command(
    kind: str, fake: FakeBroker
) -> None:
    first = runner.invoke(app, [*COMMANDS[kind], "--timeout", "1"], env=ENV)
    assert first.exit_code == 1, first.output
    said = re.search(rf"sending {kind}: command id ({UUID})", first.stderr)
    assert said, first.stderr
    command_id = said.group(1)
    assert uuid.UUID(command_id).version == 7
    assert "no outcome arrived in time; the command was sent" in first.stderr
    assert f"pkgctl outcome {command_id}" in first.stderr
    sent = fake.sent[-1][2]
    assert str(sent.event_id) == command_id and kind == sent.TYPE
    if kind in NATURAL:  # said before sending too
        natural = str(getattr(sent, NATURAL[kind]))
        assert f"{NATURAL[kind]} {natural}" in first.stderr.split("no outcome")[0]

    again = runner.invoke(app, resend_words(first.stderr), env=ENV)
    assert again.exit_code == 1, again.output
    resent = fake.sent[-1][2]
    assert resent.event_id == sent.event_id
    assert body_digest(resent) == body_digest(sent)  # the services see the same command
    assert fake.sent[-1][:2] == fake.sent[-2][:2]  # same topic and key
    assert resend_words(again.stderr) == resend_words(first.stderr)


def test_the_resend_line_carries_the_ids_given_and_chosen(fake: FakeBroker) -> None:
    command_id, aid = new_command_id(), str(uuid.uuid4())
    args = ["assign", "--customer", "c", "--package", "p", "--start", "2026-01-01"]
    result = runner.invoke(
        app, ["--json", *args, "--assignment-id", aid, "--command-id", command_id], env=ENV
    )
    assert result.exit_code == 1
    assert f"sending AssignPackage: command id {command_id}, assignment_id {aid}" in result.stderr
    words = resend_words(result.stderr)
    assert words[0] == "--json" and words[1:8] == args
    assert words.count("--command-id") == 1 and words[words.index("--command-id") + 1] == command_id
    assert words[words.index("--assignment-id") + 1] == aid
    assert "--no-wait" not in words and "--auto-decrement" not in words  # defaults left out


def test_the_first_sendings_outcome_is_looked_for_when_the_body_is_the_same(
    fake: FakeBroker,
) -> None:
    first = runner.invoke(app, [*COMMANDS["AssignPackage"], "--timeout", "1"], env=ENV)
    sent = fake.sent[-1][2]
    fake.earlier = json.loads(sent.to_json())
    words = resend_words(first.stderr)

    again = runner.invoke(app, words, env=ENV)
    assert "sent before" in again.stderr
    _, _, resent, since = fake.sent[-1]
    assert since is not None and since <= sent.occurred_at  # the first sending's outcome counts
    assert resent.correlation_id == sent.correlation_id  # which the first outcome carries
    assert resent.to_json() == sent.to_json()  # the very bytes sent the first time

    at = words.index("--quantity") + 1
    other = [*words[:at], "4", *words[at + 1 :]]
    refused = runner.invoke(app, other, env=ENV)
    assert "sent before with another body" in refused.stderr
    assert fake.sent[-1][3] is None  # only an answer to this sending (its rejection) counts

    fake.earlier = json.loads(sent.to_json()) | {"event_type": "EndAssignment"}
    reused = runner.invoke(app, words, env=ENV)  # the id of a command of another type
    assert reused.exit_code == 1 and "sent before with another body" in reused.stderr


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["retire", "p1", "--command-id", "nope"], "--command-id"),
        (["tick", "--tick-id", "nope"], "--tick-id"),
        ([*COMMANDS["AssignPackage"], "--assignment-id", "nope"], "--assignment-id"),
        ([*COMMANDS["UsageRated"], "--usage-id", "x"], "--usage-id"),
        ([*COMMANDS["RunPackage"], "--request-id", "x"], "--request-id"),
        (["outcome", "not-a-uuid"], "not a UUID"),
    ],
)
def test_a_bad_id_is_refused_before_sending(args: list[str], flag: str, fake: FakeBroker) -> None:
    result = runner.invoke(app, args, env=ENV)
    assert result.exit_code == 2, result.output
    assert flag in result.output and not fake.sent


def test_command_ids_carry_when_they_were_made() -> None:
    before = datetime.now(UTC)
    made = new_command_id()
    assert uuid.UUID(made).version == 7 and new_command_id() != made
    around = sent_around(made)
    assert around is not None
    assert before - SLACK - timedelta(milliseconds=1) <= around <= datetime.now(UTC) - SLACK
    assert sent_around(str(uuid.uuid4())) is None  # any other id: looked for from the start


def test_an_outcome_is_the_rejection_of_the_command_or_its_success_event() -> None:
    command_id = str(uuid.uuid4())
    success = {"event_type": "PackageAssigned", "assignment_id": AID}
    other = {"event_type": "CommandRejected", "command_id": str(uuid.uuid4())}
    done = {"event_type": "PackageAssigned", "assignment_id": AID, "quantity": 1}
    rejected = {"event_type": "CommandRejected", "command_id": command_id}
    assert answers.outcome([other], command_id, success) is None
    assert answers.outcome([other, done, rejected], command_id, success) == done
    assert answers.outcome([rejected, done], command_id, success) == rejected
