"""A repeated reversal_id is ignored (docs/contract.md §4 UsageReversed: "reversal_id (UUID; a
repeat is ignored)"): the first UsageReversed of a reversal_id is the one that counts, whatever
the later ones name and whatever the first did, as the first UsageRated of a usage_id and the
first GrantMinutes of a topup_id count. A new reversal_id for the same call still works when the
first reversal changed nothing."""

from __future__ import annotations

import uuid

from allowance.domain.reversal import Reversal
from allowance.service_layer import handlers
from tests.unit.fakes.allowance import FakeUnitOfWork
from tests.unit.test_allowance_rollover_reversal import JAN15, MAR15, call, granted, returned


def again(r: Reversal, usage_id: uuid.UUID | None = None, customer: str | None = None) -> Reversal:
    """A UsageReversed with `r`'s reversal_id naming `usage_id` (of `customer`)."""
    return Reversal(r.reversal_id, usage_id or r.usage_id, customer or r.customer_id)


def fresh(usage_id: uuid.UUID, customer: str = "uk-100") -> Reversal:
    return Reversal(uuid.uuid4(), usage_id, customer)


async def test_a_reversal_id_that_took_a_call_back_takes_no_other_call_back() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants([granted(JAN15, MAR15)], uow)
    a, b = call(JAN15, 300), call(JAN15, 200)
    await handlers.apply_calls([a, b], uow)
    first = fresh(a.usage_id)
    await handlers.apply_calls([first], uow)
    assert [r["usage_id"] for r in returned(uow)] == [str(a.usage_id)]
    before = list(uow.emitted)
    await handlers.apply_calls([again(first, b.usage_id)], uow)  # another batch
    assert uow.emitted == before
    await handlers.apply_calls([fresh(b.usage_id)], uow)  # b's own reversal still counts
    assert [r["usage_id"] for r in returned(uow)] == [str(a.usage_id), str(b.usage_id)]


async def test_a_reversal_id_read_twice_in_one_batch_counts_once() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants([granted(JAN15, MAR15)], uow)
    a, b = call(JAN15, 300), call(JAN15, 200)
    first = fresh(a.usage_id)
    assert await handlers.apply_calls([a, b, first, again(first, b.usage_id)], uow) == (3, 2)
    assert [r["usage_id"] for r in returned(uow)] == [str(a.usage_id)]


async def test_a_reversal_id_that_changed_nothing_is_still_used() -> None:
    """Read before its call, or naming it under another customer: the first UsageReversed of
    that reversal_id changed nothing, and its repeat (once the call is covered) is ignored too."""
    for first_customer in ("uk-100", "someone-else"):
        uow = FakeUnitOfWork()
        await handlers.add_grants([granted(JAN15, MAR15)], uow)
        a = call(JAN15, 300)
        first = fresh(a.usage_id, first_customer)
        await handlers.apply_calls([first], uow)  # never read yet, or not that customer's
        await handlers.apply_calls([a], uow)
        assert uow.events("FreeMinutesUsed") and not returned(uow)
        await handlers.apply_calls([again(first, customer="uk-100")], uow)
        assert returned(uow) == []
        await handlers.apply_calls([fresh(a.usage_id)], uow)  # a new reversal_id: reversed
        assert [r["usage_id"] for r in returned(uow)] == [str(a.usage_id)]
