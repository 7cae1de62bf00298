"""librdkafka's producer as the allowance benchmark's second floor: the least time in which
this machine's broker takes the records the allowance publishes for `n` calls (two per call,
sized and keyed as FreeMinutesUsed and AllowanceBalance: bench/allowance.py `io_floor`), through
librdkafka (confluent-kafka) rather than aiokafka, measured in the same run.

confluent-kafka is not a dependency of the project: run the benchmark as
`uv run --frozen --with confluent-kafka==2.16.1 python bench/allowance.py ...`; without it the
figure is None and the table says so."""

from __future__ import annotations

import time
from typing import Any

USED_BYTES, BALANCE_BYTES = 560, 500


def available() -> bool:
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        return False
    return True


def librdkafka_floor(
    bootstrap: str, topic: str, customers: list[bytes], grants: list[bytes], n: int
) -> dict[str, Any] | None:
    """Calls/s of publishing two records per call (`n` calls) to `topic` (created by the
    caller, partitioned as usage.rated) with librdkafka's producer, idempotent, acks=all,
    linger 5 ms (as the services' relay): None without confluent-kafka."""
    try:
        from confluent_kafka import Producer
    except ImportError:
        return None
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
            "batch.size": 256 * 1024,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    used, balance = b"u" * USED_BYTES, b"b" * BALANCE_BYTES
    headers = [("event_type", b"FreeMinutesUsed")]
    failed: list[object] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failed.append(err)

    def produce(key: bytes, value: bytes) -> None:
        while True:
            try:
                producer.produce(topic, value, key=key, headers=headers, on_delivery=delivered)
                return
            except BufferError:
                producer.poll(0.01)

    cpu_before = time.process_time()
    began = time.perf_counter()
    for i in range(n):
        produce(customers[i % len(customers)], used)
        produce(grants[i % len(grants)], balance)
        if i % 1000 == 0:
            producer.poll(0)
    left = producer.flush(300)
    seconds = time.perf_counter() - began
    if left or failed:
        raise RuntimeError(f"librdkafka: {left} not delivered, errors {failed[:3]}")
    return {
        "per_s": round(n / seconds),
        "records_per_s": round(2 * n / seconds),
        "python_us_per_call": round(1e6 * (time.process_time() - cpu_before) / n, 1),
    }
