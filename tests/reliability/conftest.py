"""The reliability suite's figures (faults injected, messages fuzzed, events verified), summed
over its tests and printed at the end of the run."""

from __future__ import annotations

from collections import Counter

import pytest

FIGURES: Counter[str] = Counter()


@pytest.fixture(scope="session")
def figures() -> Counter[str]:
    return FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for name, value in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {value}")
