"""Running a service as a process: settings, logging, database and migrations, the broker and
its subscribers, the outbox relay, /health and /metrics, and a clean stop on SIGTERM/SIGINT.
What the service's bootstrap wires is the `Runtime` (pkgshared.wiring, importable from here)."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from pkgshared.cluster import check_cluster
from pkgshared.db import SHARED_MIGRATIONS, create_pool, migrate
from pkgshared.kafka import BatchPublisher, client_security, make_broker, producer_options
from pkgshared.logs import configure_logging, redact
from pkgshared.outbox import OutboxRelay
from pkgshared.probes import measure_consumers, run_probes
from pkgshared.settings import ServiceSettings
from pkgshared.stuck import WATCH
from pkgshared.topic_admin import cluster_id
from pkgshared.wiring import PIPELINE_CHUNK, Runtime

__all__ = ["PIPELINE_CHUNK", "ApiFactory", "Runtime", "run_service"]

log = structlog.get_logger(__name__)

GC_YOUNG_THRESHOLD = 50_000
"""Allocations between two young-generation collections (Python's default is 700). A batch
of 500 records makes tens of thousands of short-lived objects; with the default, the
collector ran many times per batch (the gain measured: docs/benchmarks.md, "Micro-costs")."""

ApiFactory = Callable[[Any, Callable[[], Awaitable[dict[str, bool]]]], FastAPI]
"""(pool, healthy) -> the service's ASGI app (pkgshared.http.read_api)."""


async def run_service(
    name: str,
    settings: ServiceSettings,
    migrations: Path,
    wire: Callable[[Runtime], None],
    api: ApiFactory,
) -> None:
    """Start `name`, wire its subscribers with `wire(runtime)`, serve `api` (its read API,
    beside /health and /metrics) and run until SIGTERM/SIGINT.
    A failure to start is logged as one structured line (no settings, so no secrets) before
    the process exits."""
    configure_logging(name, settings.log_level, settings.log_json)
    WATCH.after = settings.stuck_after_seconds
    try:
        await _serve(name, settings, migrations, wire, api)
    except Exception as exc:
        log.error("service failed", error_type=type(exc).__name__, error=redact(str(exc), settings))
        raise SystemExit(1) from None


async def _serve(
    name: str,
    settings: ServiceSettings,
    migrations: Path,
    wire: Callable[[Runtime], None],
    api: ApiFactory,
) -> None:
    schema = settings.db_schema or name
    pool = await create_pool(
        settings.database_url.get_secret_value(),
        schema,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, migrations)
    found = await cluster_id(settings.kafka_bootstrap_servers, **client_security(settings))
    await check_cluster(pool, found, schema)
    producer = AIOKafkaProducer(**producer_options(settings, f"{name}-relay"))
    await producer.start()

    relay = OutboxRelay(
        pool,
        BatchPublisher(producer, settings.topic_prefix),
        batch_size=settings.outbox_batch_events,
    )
    broker = make_broker(settings, name)
    runtime = Runtime(name, settings, pool, broker, relay, producer, schema=schema)
    wire(runtime)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    background: list[asyncio.Task[Any]] = [asyncio.create_task(relay.run(), name="outbox-relay")]
    background += [asyncio.create_task(t()) for t in runtime.tasks]

    async def consumers() -> None:
        await measure_consumers(pool, runtime.consumed, runtime.end_offsets, runtime.topic)

    async def stuck_work() -> None:
        for work, why in WATCH.stuck().items():
            log.error("work stuck", work=work, why=why)

    probes = [consumers, stuck_work, *runtime.probes]
    background.append(
        asyncio.create_task(run_probes(probes, settings.probe_interval_seconds), name="probes")
    )
    server = None
    if settings.http_port:
        config = uvicorn.Config(
            api(runtime.pool, runtime.healthy),
            host=settings.http_host,
            port=settings.http_port,
            lifespan="off",
            log_config=None,
            access_log=False,
        )
        server = uvicorn.Server(config)
        background.append(asyncio.create_task(server.serve(), name="http"))
    # What start-up made lives as long as the process: out of the collector's sight.
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    await broker.start()
    log.info("service started", schema=schema, http_port=settings.http_port)
    try:
        await stop.wait()
    finally:
        log.info("service stopping")
        await broker.stop()
        relay.stop()
        if server is not None:
            server.should_exit = True
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await runtime.close()
        await producer.stop()
        await pool.close()
        log.info("service stopped")
