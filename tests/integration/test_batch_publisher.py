"""The outbox relay's batch publisher against a real broker: each key lands on the partition a
plain send would choose, each key's records keep their order across full batches, headers
arrive."""

from __future__ import annotations

from collections import defaultdict

from aiokafka import AIOKafkaProducer

from pkgshared.kafka import BatchPublisher
from pkgtools.testing.kafka import TopicReader, create_plain_topics, unique_name


async def test_batches_keep_the_plain_partitioning_and_each_keys_order(
    kafka_bootstrap: str,
) -> None:
    name = unique_name("batches")
    prefix = "relay."
    await create_plain_topics(kafka_bootstrap, [prefix + name], partitions=6)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        max_batch_size=16 * 1024,  # small batches: 2,000 records of 100 bytes fill many
    )
    await producer.start()
    try:
        keys = [f"cust-{n}".encode() for n in range(37)]
        records = [
            (name, keys[n % len(keys)], b"%06d" % n + b"x" * 94, [("event_type", b"T")])
            for n in range(2000)
        ]
        await BatchPublisher(producer, prefix)(records)
        plain = {
            key: (await (await producer.send(prefix + name, b"probe", key=key))).partition
            for key in keys
        }
    finally:
        await producer.stop()

    async with TopicReader(kafka_bootstrap, prefix + name) as reader:
        await reader.wait_for(lambda rs: len(rs) >= 2000 + len(keys), what="every record")
    by_key: dict[bytes, list[int]] = defaultdict(list)
    for r in reader.records:
        assert r.key is not None and r.value is not None
        assert r.partition == plain[r.key], "a key left the partition a plain send picks"
        if r.value != b"probe":
            assert r.headers == {"event_type": b"T"}
            by_key[r.key].append(int(r.value[:6]))
    assert sum(len(v) for v in by_key.values()) == 2000
    for key, numbers in by_key.items():
        assert numbers == sorted(numbers), f"order of {key!r} changed"
    assert len({r.partition for r in reader.records}) > 1
