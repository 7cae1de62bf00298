"""`ticker`: publishes ClockTicked to clock.ticks every TICK_INTERVAL_SECONDS (default 60), with
`at` = now. For local runs and the compose file; production may use any scheduler instead."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaProducer
from pydantic import Field

from pkgcontract import topics
from pkgcontract.messages import ClockTicked
from pkgshared.kafka import message_headers, producer_options
from pkgshared.logs import configure_logging
from pkgshared.settings import ServiceSettings

log = structlog.get_logger(__name__)


class TickerSettings(ServiceSettings):
    tick_interval_seconds: float = Field(default=60.0, gt=0)


async def run(settings: TickerSettings) -> None:
    configure_logging("ticker", settings.log_level, settings.log_json)
    producer = AIOKafkaProducer(**producer_options(settings, "ticker"))
    await producer.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    topic = settings.topic_prefix + topics.CLOCK_TICKS
    try:
        while not stop.is_set():
            tick = ClockTicked(tick_id=uuid.uuid4(), at=datetime.now(UTC))
            headers = [(k, v.encode()) for k, v in message_headers(tick).items()]
            await producer.send_and_wait(topic, tick.to_json(), key=b"clock", headers=headers)
            log.info("tick sent", tick_id=str(tick.tick_id), at=tick.at.isoformat())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.tick_interval_seconds)
    finally:
        await producer.stop()


def main() -> None:
    asyncio.run(run(TickerSettings()))


if __name__ == "__main__":
    main()
