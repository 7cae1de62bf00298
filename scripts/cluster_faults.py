"""The cluster test's hands and eyes (scripts/cluster_check.py): containers killed, started,
paused by their compose service; partition leaders, consumer groups' committed offsets and
the services' /health, as Kafka and the services report them."""

from __future__ import annotations

import asyncio
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

BROKERS = {1: "kafka", 2: "kafka-2", 3: "kafka-3"}  # node id -> compose service (cluster.yml)


def container(project: str, service: str) -> str:
    """The id of `service`'s container in compose project `project`."""
    out = subprocess.run(
        [
            "docker",
            "ps",
            "-aq",
            "--filter",
            f"label=com.docker.compose.project={project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    if len(out) != 1:
        raise RuntimeError(f"{len(out)} containers for service {service} of {project}")
    return out[0]


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True)


def kill(project: str, service: str) -> None:
    """SIGKILL: no shutdown, no flush, no goodbye to the group or the controller."""
    docker("kill", "-s", "KILL", container(project, service))


def start(project: str, service: str) -> None:
    docker("start", container(project, service))


class Admin:
    """Kafka's view of the cluster, as its admin user sees it."""

    def __init__(self, bootstrap: str, security: dict[str, Any]) -> None:
        self.bootstrap = bootstrap
        self.security = security
        self.admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=15000, **security
        )
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, **security
        )

    async def __aenter__(self) -> Admin:
        await self.admin.start()
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def leaders(self, names: Iterable[str]) -> dict[tuple[str, int], int]:
        """(topic, partition) -> the node id of its leader (-1 while it has none)."""
        wanted = set(names)
        return {
            (t["topic"], p["partition"]): p["leader"]
            for t in await self.admin.describe_topics(sorted(wanted))
            if t["topic"] in wanted
            for p in t["partitions"]
        }

    async def under_replicated(self, names: Iterable[str]) -> list[tuple[str, int]]:
        """The partitions of `names` with fewer copies in sync than they have."""
        wanted = set(names)
        return [
            (t["topic"], p["partition"])
            for t in await self.admin.describe_topics(sorted(wanted))
            if t["topic"] in wanted
            for p in t["partitions"]
            if len(p["isr"]) < len(p["replicas"])
        ]

    async def lag(self) -> dict[tuple[str, str, int], int]:
        """(group, topic, partition) -> end offset minus the group's committed offset, for
        every partition any group has committed on."""
        committed: dict[tuple[str, TopicPartition], int] = {}
        for group, *_ in await self.admin.list_consumer_groups():
            for tp, meta in (await self.admin.list_consumer_group_offsets(group)).items():
                if meta.offset >= 0:
                    committed[(group, tp)] = meta.offset
        ends = await self.consumer.end_offsets(list({tp for _, tp in committed}))
        return {(g, tp.topic, tp.partition): ends[tp] - o for (g, tp), o in committed.items()}


class LeaderWatch:
    """Polls the leaders of `names` every `every` seconds, counting each change of a
    partition's leader (a move); `moved_from(node)` waits until no partition is led by it."""

    def __init__(self, admin: Admin, names: Iterable[str], every: float = 1.0) -> None:
        self.admin, self.names, self.every = admin, tuple(names), every
        self.current: dict[tuple[str, int], int] = {}
        self.moves = 0
        self.errors = 0
        self._task: asyncio.Task[None] | None = None

    async def look(self) -> dict[tuple[str, int], int]:
        now = await self.admin.leaders(self.names)
        for key, leader in now.items():
            before = self.current.get(key)
            if before is not None and before != leader and leader >= 0:
                self.moves += 1
        self.current.update({k: v for k, v in now.items() if v >= 0})
        return now

    async def _run(self) -> None:
        while True:
            try:
                await self.look()
            except Exception:  # a broker just killed: the next look asks another
                self.errors += 1
            await asyncio.sleep(self.every)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def moved_from(self, node: int, topic: str, timeout: float) -> float:
        """Seconds until `topic`'s partitions have a leader other than `node`."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            try:
                now = await self.admin.leaders([topic])
            except Exception:
                now = {}
            if now and all(leader not in (node, -1) for leader in now.values()):
                return time.monotonic() - began
            await asyncio.sleep(0.25)
        raise TimeoutError(f"{topic} still led by node {node} after {timeout:.0f} s")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:  # noqa: S310 (a local URL)
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


async def all_healthy(urls: list[str], timeout: float) -> float:
    """Seconds until every URL answers 200 at once."""
    began = time.monotonic()
    while True:
        sick = [u for u in urls if not await asyncio.to_thread(healthy, u)]
        if not sick:
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"not healthy after {timeout:.0f} s: {sick}")
        await asyncio.sleep(0.5)
