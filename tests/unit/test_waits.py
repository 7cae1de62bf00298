"""The tests' wait helper: returns what a plain or async check first gives, or fails naming
what it waited for."""

from __future__ import annotations

import pytest

from pkgtools.testing.waits import wait_until


async def test_returns_the_first_true_value_of_a_plain_or_async_check() -> None:
    calls = iter([0, [], 7])
    assert await wait_until(lambda: next(calls), "a value", timeout=5, every=0) == 7

    answers = iter([None, "ready"])

    async def check() -> str | None:
        return next(answers)

    assert await wait_until(check, "ready", timeout=5, every=0) == "ready"


async def test_fails_after_the_deadline_naming_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match="the moon"):
        await wait_until(lambda: False, "the moon", timeout=0.05, every=0.01)
