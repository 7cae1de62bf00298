"""Reading a topic whose commands are held back (pkgshared.held_reading, pkgshared.holding)
across rebalances: a partition handed over is read from its stored offset, and a poll fetched
before a rebalance but handled after it never moves the stored offset past held commands that
are no longer in memory, nor applies a customer's command ahead of its waiting one."""

from __future__ import annotations

from aiokafka import TopicPartition

from assignment.service_layer import handlers
from pkgcontract.messages import CommandRejected, PackageAssigned
from pkgshared.consuming import BatchConsumer
from pkgshared.held_reading import HeldReader
from tests.unit.fakes.consuming import FakeStore
from tests.unit.test_held_commands import TOPIC, Clock, Log, Service, answers, assign, defined

TP = TopicPartition(TOPIC, 0)


class FakeConsumer:
    def __init__(self) -> None:
        self.sought: list[tuple[int, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.sought.append((tp.partition, offset))


def reading(service: Service, store: FakeStore) -> tuple[HeldReader, FakeConsumer]:
    """`service` with the rebalance listener and the poll lock, as bootstrap wires them."""

    async def stored(partitions: list[int]) -> dict[int, int]:
        return {p: o for (t, p), o in store.offsets.items() if t == TOPIC and p in partitions}

    reader = HeldReader(service.held, stored)
    consumer = FakeConsumer()
    reader.subscriber = type("Subscriber", (), {"consumer": consumer})()
    service.consumer = BatchConsumer(
        TOPIC,
        service.consumer._handler,
        store.uow,
        rejections_topic=service.consumer._rejections,
        keeper=reader,
        held=service.held,
    )
    return reader, consumer


async def test_a_poll_fetched_before_a_rebalance_is_read_again_from_the_stored_offset() -> None:
    store, clock, log = FakeStore(), Clock(), Log()
    await handlers.handle_catalog_event(defined("gold"), store.uow())
    service = Service(store, clock)
    reader, consumer = reading(service, store)
    await reader.on_partitions_assigned([TP])  # a new schema: nothing stored yet
    waiting, other, behind = assign("acme", "ghost"), assign("bob", "gold"), assign("acme", "gold")
    first = [log.send(waiting, "acme"), log.send(other, "bob")]
    stale = [log.send(behind, "acme")]
    await service.read(*first)
    assert store.offsets[(TOPIC, 0)] == 0 and service.held.count == 1
    # A rebalance hands the partition back: what was held is dropped and read again.
    await reader.on_partitions_revoked([TP])
    await reader.on_partitions_assigned([TP])
    assert consumer.sought == [(0, 0)]
    await service.read(*stale)  # fetched before the rebalance: out of turn, read again
    assert consumer.sought == [(0, 0), (0, 0)]
    assert answers(store, behind) == [] and store.offsets[(TOPIC, 0)] == 0
    await service.read(*log.records)  # from the stored offset
    assert len(answers(store, other)) == 1  # read again, not applied again
    assert answers(store, behind) == []  # behind its customer's waiting one, still
    clock.now += 10  # the bound counts from the first read, not from the reading again
    await service.tick()
    assert [type(m) for m in answers(store, waiting)] == [CommandRejected]
    assert [type(m) for m in answers(store, behind)] == [PackageAssigned]
    assert store.offsets[(TOPIC, 0)] == 3 and service.held.count == 0


async def test_records_of_a_partition_not_handed_over_or_taken_away_are_left_out() -> None:
    store, clock, log = FakeStore(), Clock(), Log()
    await handlers.handle_catalog_event(defined("gold"), store.uow())
    service = Service(store, clock)
    reader, consumer = reading(service, store)
    await reader.on_partitions_revoked([])  # as a consumer starts
    late = assign("carol", "gold")
    await service.read(log.send(late, "carol"))  # before the listener has handed it over
    assert answers(store, late) == [] and consumer.sought == [(0, 0)]  # read again
    await reader.on_partitions_assigned([TP])
    await service.read(*log.records)
    assert len(answers(store, late)) == 1
    await reader.on_partitions_revoked([TP])
    later = assign("dave", "gold")
    await service.read(log.send(later, "dave"))  # fetched before it was taken away
    assert answers(store, later) == [] and store.offsets[(TOPIC, 0)] == 1


async def test_a_real_gap_in_the_offsets_is_read_on() -> None:
    """Offsets a partition does not have (compacted, transaction markers) look like a poll
    out of turn once; the same gap again is read on."""
    store, clock, log = FakeStore(), Clock(), Log()
    await handlers.handle_catalog_event(defined("gold"), store.uow())
    service = Service(store, clock)
    reader, consumer = reading(service, store)
    store.offsets[(TOPIC, 0)] = 1
    await reader.on_partitions_assigned([TP])
    after = assign("dave", "gold")
    record = log.send(after, "dave")
    record.offset = 6
    await service.read(record)
    assert answers(store, after) == [] and consumer.sought[-1] == (0, 1)
    await service.read(record)
    assert len(answers(store, after)) == 1 and store.offsets[(TOPIC, 0)] == 7
