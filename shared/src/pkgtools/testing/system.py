"""A test's view of the running system: its topic prefix, its service processes, and how to
send commands and read topics."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pkgtools.testing.kafka import TopicReader, produce
from pkgtools.testing.processes import ServiceProcess


class System:
    """Where a test's services live, and how to talk to them."""

    def __init__(self, bootstrap: str, database_url: str, log_dir: Path) -> None:
        self.bootstrap = bootstrap
        self.database_url = database_url
        self.prefix = f"e2e{uuid.uuid4().hex[:8]}."
        self.log_dir = log_dir
        self.services: dict[str, ServiceProcess] = {}

    def topic(self, name: str) -> str:
        return self.prefix + name

    def service(self, module: str, instance: str = "", **env: str) -> ServiceProcess:
        schema = f"{self.prefix.strip('.')}_{module}{instance}".replace("-", "_")
        process = ServiceProcess(
            module,
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
                "DATABASE_URL": self.database_url,
                "TOPIC_PREFIX": self.prefix,
                "DB_SCHEMA": schema,
                **env,
            },
            self.log_dir,
        )
        self.services[module + instance] = process
        return process

    async def send(self, topic: str, message: dict[str, Any] | bytes, key: str) -> None:
        await produce(self.bootstrap, self.topic(topic), [message], key=key)

    def reader(self, *names: str) -> TopicReader:
        return TopicReader(self.bootstrap, *(self.topic(n) for n in names))

    def stop_all(self) -> None:
        for process in self.services.values():
            process.stop()

    async def drop(self) -> None:
        """Remove this system's schemas and topics (after stop_all)."""
        import asyncpg
        from aiokafka.admin import AIOKafkaAdminClient

        conn = await asyncpg.connect(self.database_url)
        try:
            schemas = await conn.fetch(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)",
                self.prefix.strip("."),
            )
            for row in schemas:
                await conn.execute(f'DROP SCHEMA "{row["nspname"]}" CASCADE')
        finally:
            await conn.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            mine = [t for t in existing if t.startswith(self.prefix)]
            if mine:
                await admin.delete_topics(mine)
        finally:
            await admin.close()


@asynccontextmanager
async def started_system(
    bootstrap: str, database_url: str, log_dir: Path, *modules: str, **env: str
) -> AsyncIterator[System]:
    """A system with a topic prefix and schemas of its own, `modules` started (with `env`) and
    healthy; stopped, and its schemas and topics dropped, at the end."""
    from pkgcontract import topics
    from pkgshared import topic_admin

    system = System(bootstrap, database_url, log_dir)
    await topic_admin.create_topics(bootstrap, topics.with_prefix(system.prefix))
    try:
        for module in modules:
            system.service(module, **env).start()
        for process in system.services.values():
            process.wait_healthy()
        yield system
    finally:
        system.stop_all()
        await system.drop()


def command(event_type: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "event_id": str(uuid.uuid4()),
        "schema_version": 1,
        "occurred_at": "2026-01-01T00:00:00Z",
        **fields,
    }


def body(record: Any) -> dict[str, Any]:
    return json.loads(record.value)


def define_package(package_id: str, **fields: Any) -> dict[str, Any]:
    """A DefinePackage command: a daily recurring package at 1.00 GBP unless `fields` say
    otherwise."""
    defaults: dict[str, Any] = {
        "name": package_id,
        "kind": "recurring",
        "retail": "1.00",
        "currency": "GBP",
        "frequency": "daily",
    }
    return command("DefinePackage", package_id=package_id, **(defaults | fields))
