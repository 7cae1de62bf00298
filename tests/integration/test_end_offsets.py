"""The end offsets the services use as a read barrier come from the real broker."""

from __future__ import annotations

from pkgshared.runtime import Runtime
from pkgshared.settings import ServiceSettings
from pkgtools.testing.kafka import create_plain_topics, produce, unique_name


async def test_end_offsets_of_an_unsubscribed_topic(kafka_bootstrap: str) -> None:
    topic = unique_name("ends")
    await create_plain_topics(kafka_bootstrap, [topic], partitions=3)
    await produce(kafka_bootstrap, topic, [{"n": 1}, {"n": 2}], key="same-key")
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    runtime = Runtime("t", settings, None, None, None, None)  # type: ignore[arg-type]
    try:
        ends = await runtime.end_offsets(topic)
    finally:
        await runtime.close()
    assert set(ends) == {0, 1, 2}
    assert sorted(ends.values()) == [0, 0, 2]
