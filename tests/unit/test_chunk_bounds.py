"""The chunks a large poll is read in (pkgshared.consuming.chunk_bounds)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from pkgshared.consuming import chunk_bounds


@given(st.integers(min_value=1, max_value=20_000), st.integers(min_value=1, max_value=3_000))
def test_chunks_cover_the_poll_in_order_and_end_small(n: int, size: int) -> None:
    bounds = chunk_bounds(n, size)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a < b for a, b in bounds)
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(bounds))
    assert all(b - a <= size for a, b in bounds)
    if n > size:  # the commit waits only for a short last statement
        assert bounds[-1][1] - bounds[-1][0] <= max(1, size // 4)


def test_a_poll_of_five_thousand_in_chunks_of_a_thousand() -> None:
    assert [b - a for a, b in chunk_bounds(5000, 1000)] == [1000, 1000, 1000, 1000, 750, 250]
