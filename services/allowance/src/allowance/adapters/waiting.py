"""Calls read and not applied yet, held in memory by the calls checkpoint
(allowance.adapters.checkpoint), per partition of `usage.rated` (docs/contract.md §6:
a call waits until the charger has settled its moment; calls of one customer keep their order).

Kafka is where waiting calls are kept: the offset stored with the applied state of a partition
is that of its first call still waiting, so after a restart or a rebalance the calls from there
on are read again. Here they are only held while the process runs. Pure: plain values only.

A call that occurred far past the settled moment (a clock set wrong upstream: the charger will
not settle it for days, or years) would hold its partition's resume point, and its customer's
later calls behind it, in memory all that time. Such a call is **parked**: from the call before
it, its customer's calls go to a table in the order read, are applied from there once settled,
and the customer comes back to memory when none of its calls is left there (PARK_AHEAD).

A UsageReversed waits here too, among its customer's calls in the order read (decision 0009):
its `occurred_at` is the first instant there is, so it is settled at once and only its
customer's calls before it hold it back; a parked customer's reversal is parked with them. When a
record read under another Kafka key than its customer_id (a stray: in another partition than
its customer's) is held, a reversal also waits while the call it names is held here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from allowance.domain.reversal import Reversal, Usage


@dataclass(frozen=True, slots=True)
class Waiting:
    """A call waiting, where it was read."""

    partition: int
    offset: int
    call: Usage  # a call, or a reversal (it waits in its customer's order too)


@dataclass
class _Partition:
    next_read: int  # the offset after the last record this partition has seen
    calls: dict[int, Usage] = field(default_factory=dict)  # offset -> call, in offset order
    first: int = -1  # the offset of its first call waiting, as `parking` last saw it
    first_since: int = 0  # the settled moments read when that call became the first
    seen_to: int = 0  # after the last record read, handed over or not (unreadable ones too)


PARK_AHEAD = timedelta(days=1)
"""A call that occurred this long or more after the settled moment is parked: with the charger
ticking every minute (or every hour, or every day), calls in the field are not that far ahead."""

PARK_AFTER_SETTLES = 10
"""A call that stays its partition's first call waiting while the settled moment moves this
many times is parked too (a clock some hours ahead: less than PARK_AHEAD, but held back tick
after tick while the calls around it are applied). It bounds what a restart reads again to
about that many ticks of the partition; the settled moment not moving (the charger stopped)
parks nothing."""


class WaitingCalls:
    def __init__(
        self, park_ahead: timedelta = PARK_AHEAD, park_after_settles: int = PARK_AFTER_SETTLES
    ) -> None:
        self._partitions: dict[int, _Partition] = {}
        self._per_customer: Counter[str] = Counter()
        self.count = 0
        # Records held that were read under another key than their customer's (partition,
        # offset): a reversal and its call may be on two partitions.
        self._strays: set[tuple[int, int]] = set()
        self.horizon: datetime | None = None  # the settled moment as the applier last read it
        self.ready = False  # a call read before that moment is waiting
        self._ahead = park_ahead
        self._park_from: datetime | None = None  # calls from this moment on are parked
        # Customers whose calls are parked (they go to the table in the order read, and are
        # not applied from here); `park_due`: some of their calls are held here.
        self.parked: set[str] = set()
        self.park_due = False
        self.reads = 0  # calls added so far
        self._far_at: dict[str, int] = {}  # parked customer -> `reads` at its latest far call
        self._after = park_after_settles
        self._settles = 0  # times the settled moment moved

    def set_horizon(self, horizon: datetime) -> None:
        """The settled moment, as the applier read it."""
        first = self.horizon is None
        if not first and horizon != self.horizon:
            self._settles += 1
        self.horizon = horizon
        try:
            self._park_from = horizon + self._ahead
        except OverflowError:  # the calendar's end is not that far ahead: nothing is
            self._park_from = None
        if first and self._park_from is not None:
            # Calls read before any moment was settled were not looked at.
            for held in self._partitions.values():
                for call in held.calls.values():
                    self._park_if_far(call)

    # ------------------------------------------------------------ what the reader does
    def start(self, partition: int, offset: int) -> None:
        """The partition is read from `offset` (assigned, or read again): nothing of it waits."""
        self.drop([partition])
        self._partitions[partition] = _Partition(offset)

    def drop(self, partitions: Iterable[int]) -> None:
        """The partitions are no longer this reader's (revoked): forget their calls."""
        for p in partitions:
            gone = self._partitions.pop(p, None)
            if gone is not None:
                self._forget(gone.calls.values())
                if self._strays:
                    self._strays = {s for s in self._strays if s[0] != p}

    def partitions(self) -> set[int]:
        return set(self._partitions)

    def add(self, partition: int, offset: int, call: Usage | None, stray: bool = False) -> bool:
        """A record read (`call` None: not a call, or not readable). A record before the
        partition's next offset was seen already (a poll delivered again) and changes nothing;
        so does a partition not started. True when a call was added."""
        held = self._partitions.get(partition)
        if held is None or offset < held.next_read:
            return False
        held.next_read = offset + 1
        if call is None:
            return False
        held.calls[offset] = call
        self._per_customer[call.customer_id] += 1
        if stray:
            self._strays.add((partition, offset))
        self.count += 1
        self.reads += 1
        if self.horizon is not None and call.occurred_at < self.horizon:
            self.ready = True
        self._park_if_far(call)
        return True

    def _park_if_far(self, call: Usage) -> None:
        customer = call.customer_id
        if self._park_from is not None and call.occurred_at >= self._park_from:
            self._park(customer)
        elif customer in self.parked:
            self.park_due = True

    def _park(self, customer: str) -> None:
        self.parked.add(customer)
        self._far_at[customer] = self.reads
        self.park_due = True

    # ------------------------------------------------------------ what the applier does
    def settled(self, horizon: datetime, max_calls: int, per_customer: int) -> list[Waiting]:
        """Calls that occurred before `horizon`, in the order read, each customer's up to its
        first call not settled yet (it waits there, and those behind it wait too), at most
        `per_customer` of a customer and `max_calls` in all. Parked customers' calls are not
        among them (`parking`)."""
        out: list[Waiting] = []
        blocked: set[str] = set(self.parked)
        taken: Counter[str] = Counter()
        behind = self._calls_reversed()
        for p, held in self._partitions.items():
            here: set[str] = set()  # held back on this partition only (behind)
            for offset, call in held.calls.items():
                customer = call.customer_id
                if customer in blocked or customer in here:
                    continue
                if behind and type(call) is Reversal and call.usage_id in behind:
                    here.add(customer)  # its call waits, on another partition
                    continue
                if call.occurred_at >= horizon or taken[customer] == per_customer:
                    blocked.add(customer)
                    continue
                taken[customer] += 1
                out.append(Waiting(p, offset, call))
                if behind:
                    behind.discard(call.usage_id)  # taken: its reversal may follow it
                if len(out) == max_calls:
                    return out
        return out

    def _calls_reversed(self) -> set[UUID]:
        """The calls held here that a reversal held here names, looked for only while a stray
        is held (the contract keys usage.rated by customer_id, so a reversal is read after its
        call, in the same partition): then a reversal waits while its call is held, wherever
        each was read (docs/contract.md §6 Reversal: "when its call waits, it waits too")."""
        if not self._strays:
            return set()
        calls: set[tuple[UUID, str]] = set()
        named: set[tuple[UUID, str]] = set()
        for held in self._partitions.values():
            for call in held.calls.values():
                (named if type(call) is Reversal else calls).add((call.usage_id, call.customer_id))
        return {usage_id for usage_id, _ in calls & named}

    def parking(self, max_calls: int) -> list[Waiting]:
        """The calls of parked customers held here, in the order read (each customer's from
        its first), at most `max_calls`; a partition's first call waiting that has stayed
        first through PARK_AFTER_SETTLES moves of the settled moment parks its customer."""
        for held in self._partitions.values():
            first = next(iter(held.calls), None)
            if first is None:
                continue
            call = held.calls[first]
            if first != held.first:
                held.first, held.first_since = first, self._settles
            elif (
                self._settles - held.first_since >= self._after
                and self.horizon is not None
                and call.occurred_at >= self.horizon  # settled and waiting: only a backlog
            ):
                self._park(call.customer_id)
        if not self.park_due:
            return []
        out: list[Waiting] = []
        parked = self.parked
        behind = self._calls_reversed()
        skipped: list[set[str]] = []
        for p, held in self._partitions.items():
            here: set[str] = set()
            skipped.append(here)
            for offset, call in held.calls.items():
                if call.customer_id in parked and call.customer_id not in here:
                    if behind and type(call) is Reversal and call.usage_id in behind:
                        here.add(call.customer_id)  # parked after its call, on a later pass
                        continue
                    out.append(Waiting(p, offset, call))
                    if behind:
                        behind.discard(call.usage_id)  # its reversal may follow it
                    if len(out) == max_calls:
                        return out
        # Set again by the applier when these are not parked after all; kept while a
        # reversal waits for its call to be parked first.
        self.park_due = any(here for here in skipped)
        return out

    def parked_after(self, still: Iterable[str], back: Iterable[str], reads: int) -> None:
        """A transaction chosen when `reads` calls had been read committed: the customers
        `still` have calls parked (some parked by another instance), those `back` have none
        any more and are applied from here again (not one with a call far ahead read since:
        it stays parked)."""
        self.parked.update(still)
        for customer in back:
            if self._far_at.get(customer, -1) <= reads:
                self.parked.discard(customer)
                self._far_at.pop(customer, None)

    def passed(self, partition: int, offset: int) -> None:
        """A record read and not handed over (unreadable): the partition is read past it."""
        held = self._partitions.get(partition)
        if held is not None:
            held.seen_to = max(held.seen_to, offset + 1)

    def read_to(self, partition: int, end: int, moment: datetime) -> bool:
        """Has this reader read `partition` up to `end` with no call before `end` left that
        `moment` settles and that could be applied (calls held back behind a customer's call
        not settled yet, and parked customers' calls, wait as they would anyway)?"""
        held = self._partitions.get(partition)
        if held is None or max(held.next_read, held.seen_to) < end:
            return False
        blocked: set[str] = set(self.parked)
        behind = self._calls_reversed()
        for offset, call in held.calls.items():
            if offset >= end:
                break
            customer = call.customer_id
            if customer in blocked:
                continue
            if call.occurred_at >= moment or (type(call) is Reversal and call.usage_id in behind):
                blocked.add(customer)  # (a reversal whose call waits elsewhere: as that call)
                continue
            return False
        return True

    def resume_offsets(self, leaving: Iterable[Waiting] = ()) -> dict[int, int]:
        """Where each partition is read again from once `leaving` are applied: its first call
        still waiting after them, or its next offset when none is."""
        gone: dict[int, set[int]] = {}
        for w in leaving:
            gone.setdefault(w.partition, set()).add(w.offset)
        out = {}
        for p, held in self._partitions.items():
            offsets = gone.get(p, ())
            out[p] = next((o for o in held.calls if o not in offsets), held.next_read)
        return out

    def remove(self, applied: Iterable[Waiting]) -> None:
        """The calls are applied (committed)."""
        for w in applied:
            held = self._partitions.get(w.partition)
            call = held.calls.pop(w.offset, None) if held is not None else None
            if call is not None:
                self._forget((call,))
                if self._strays:
                    self._strays.discard((w.partition, w.offset))

    def of_customer(self, customer_id: str) -> int:
        return self._per_customer.get(customer_id, 0)

    def customers(self) -> dict[str, tuple[int, datetime]]:
        """Each customer with calls held here: how many, and when its oldest occurred."""
        found: dict[str, tuple[int, datetime]] = {}
        for held in self._partitions.values():
            for call in held.calls.values():
                if isinstance(call, Reversal):  # not a call: its occurred_at says nothing
                    continue
                count, oldest = found.get(call.customer_id, (0, call.occurred_at))
                found[call.customer_id] = (count + 1, min(oldest, call.occurred_at))
        return found

    def _forget(self, calls: Iterable[Usage]) -> None:
        for call in calls:
            self.count -= 1
            left = self._per_customer[call.customer_id] - 1
            if left:
                self._per_customer[call.customer_id] = left
            else:
                del self._per_customer[call.customer_id]
